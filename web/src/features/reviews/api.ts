/** Reviews, their decisions, and the target changes that cite them. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, request, type Schemas } from "@/shared/api/client";

import { targetChangeText } from "./agenda";

export function useReviews() {
  return useQuery({
    queryKey: ["reviews"],
    queryFn: async () =>
      (await request(api.GET("/v1/reviews", { params: { query: { limit: 200 } } }))).items,
  });
}

export function useReview(reviewId: string) {
  return useQuery({
    queryKey: ["review", reviewId],
    queryFn: () =>
      request(api.GET("/v1/reviews/{review_id}", { params: { path: { review_id: reviewId } } })),
  });
}

export function useGoalChoices() {
  return useQuery({
    queryKey: ["goals", "choices"],
    staleTime: 60_000,
    queryFn: async () =>
      (await request(api.GET("/v1/goals", { params: { query: { limit: 1000 } } }))).items,
  });
}

/** A goal's timeline (the pack draws its status history). */
export function useGoalHistory(goalId: string) {
  return useQuery({
    queryKey: ["goal", goalId, "history"],
    staleTime: 60_000,
    queryFn: async () =>
      (await request(api.GET("/v1/goals/{goal_id}/history", { params: { path: { goal_id: goalId } } })))
        .items,
  });
}

export function useCreateReview() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["ReviewCreate"]) => request(api.POST("/v1/reviews", { body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["reviews"] }),
  });
}

export function useAddDecision(reviewId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["DecisionCreate"]) =>
      request(
        api.POST("/v1/reviews/{review_id}/decisions", {
          params: { path: { review_id: reviewId } },
          body,
        }),
      ),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["review", reviewId] }),
  });
}

export function useSetDecisionDone(reviewId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ reviewOf, id, done }: { reviewOf: string; id: string; done: boolean }) =>
      request(
        api.PATCH("/v1/reviews/{review_id}/decisions/{decision_id}", {
          params: { path: { review_id: reviewOf, decision_id: id } },
          body: { done },
        }),
      ),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["review"] }),
    meta: { reviewId },
  });
}

/** A target change decided in the review: the goal's PATCH cites it, then it is recorded. */
export function useTargetChange(reviewId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({
      goalId,
      target,
      reason,
      goalTitle,
      from,
      unit,
    }: {
      goalId: string;
      target: number;
      reason: string;
      goalTitle: string;
      /** The target before the change. */
      from: number | null;
      /** The KPI's unit. */
      unit: string | undefined;
    }) => {
      await request(
        api.PATCH("/v1/goals/{goal_id}", {
          params: { path: { goal_id: goalId } },
          body: { target, reason, review_id: reviewId },
        }),
      );
      return request(
        api.POST("/v1/reviews/{review_id}/decisions", {
          params: { path: { review_id: reviewId } },
          body: {
            kind: "target_change",
            text: targetChangeText(goalTitle, from, target, unit, reason),
            goal_id: goalId,
            done: true,
          },
        }),
      );
    },
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ["review", reviewId] });
      void client.invalidateQueries({ queryKey: ["goals"] });
      void client.invalidateQueries({ queryKey: ["goal"] });
    },
  });
}
