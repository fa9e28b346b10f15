/**
 * The app: providers, the signed-in layout (navigation, who is signed in) and the route
 * table. Features never import each other; this file composes them.
 */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { lazy, Suspense, useState } from "react";
import { BrowserRouter, Link, NavLink, Navigate, Outlet, Route, Routes } from "react-router";

import { AcceptInvitationPage } from "@/features/auth/AcceptInvitationPage";
import { invitationToken } from "@/features/auth/invitation";
import { SessionEndedPage, SignInPage } from "@/features/auth/SignInPage";
import { GoalPage } from "@/features/goals/GoalPage";
import { ScorecardPage } from "@/features/scorecard/ScorecardPage";
import { ApiError } from "@/shared/api/client";
import { useSession, SessionProvider } from "@/shared/auth/session";
import { Loading } from "@/shared/components/Feedback";

const AlertsPage = lazy(() => import("@/features/alerts/AlertsPage"));
const ReviewsPage = lazy(() => import("@/features/reviews/ReviewsPage"));
const ReviewPage = lazy(() => import("@/features/reviews/ReviewPage"));
const ReviewPackPage = lazy(() => import("@/features/reviews/ReviewPackPage"));
const KpisPage = lazy(() => import("@/features/kpis/KpisPage"));
const KpiPage = lazy(() => import("@/features/kpis/KpiPage"));
const StrategyPage = lazy(() => import("@/features/strategy/StrategyPage"));
const AdminPage = lazy(() => import("@/features/admin/AdminPage"));
const CyclesPage = lazy(() => import("@/features/cycles/CyclesPage"));
const NewGoalPage = lazy(() => import("@/features/goalsetup/NewGoalPage"));
const NotificationsPage = lazy(() => import("@/features/notifications/NotificationsPage"));
const SourcesPage = lazy(() => import("@/features/sources/SourcesPage"));

const queries = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
    },
  },
});

const NAV = [
  ["/", "Scorecard"],
  ["/alerts", "Alerts"],
  ["/reviews", "Reviews"],
  ["/kpis", "KPIs"],
  ["/strategy", "Strategy"],
  ["/cycles", "Cycles"],
] as const;

function Layout() {
  const { state, actor, signOut, can } = useSession();
  // An invitation link opens the password page, whoever is signed in on this browser.
  const [invitation, setInvitation] = useState(() => invitationToken(window.location.hash));
  if (state.phase === "loading") return <Loading what="Opening Northstar" />;
  if (invitation) {
    const done = () => {
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
      setInvitation(null);
    };
    return <AcceptInvitationPage token={invitation} onDone={done} />;
  }
  if (state.phase === "ended") return <SessionEndedPage reason={state.reason} />;
  if (state.phase === "signed_out") return <SignInPage />;
  const admin = can("people:manage") || can("keys:manage") || can("org:write") || can("members:manage");
  return (
    <div className="layout">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          <span aria-hidden="true">✦</span> Northstar
        </Link>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([to, label]) => (
              <li key={to}>
                <NavLink to={to} end={to === "/"}>
                  {label}
                </NavLink>
              </li>
            ))}
            {can("sources:manage") && (
              <li>
                <NavLink to="/sources">Sources</NavLink>
              </li>
            )}
            {admin && (
              <li>
                <NavLink to="/admin">Administration</NavLink>
              </li>
            )}
          </ul>
        </nav>
        <div className="who">
          <span data-testid="signed-in-as">
            {actor?.name}
            {actor?.role ? ` · ${actor.role}` : ""}
          </span>
          {actor?.kind === "user" && <NavLink to="/notifications">Notifications</NavLink>}
          <button type="button" className="link-button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}

export function App() {
  return (
    <QueryClientProvider client={queries}>
      <SessionProvider>
        <BrowserRouter>
          <Routes>
            <Route element={<Layout />}>
              <Route index element={<ScorecardPage />} />
              <Route path="goals/new" element={<NewGoalPage />} />
              <Route path="goals/:goalId" element={<GoalPage />} />
              <Route path="alerts" element={<AlertsPage />} />
              <Route path="reviews" element={<ReviewsPage />} />
              <Route path="reviews/:reviewId" element={<ReviewPage />} />
              <Route path="reviews/:reviewId/pack" element={<ReviewPackPage />} />
              <Route path="kpis" element={<KpisPage />} />
              <Route path="kpis/:key" element={<KpiPage />} />
              <Route path="strategy" element={<StrategyPage />} />
              <Route path="cycles" element={<CyclesPage />} />
              <Route path="admin" element={<AdminPage />} />
              <Route path="notifications" element={<NotificationsPage />} />
              <Route path="sources" element={<SourcesPage />} />
              <Route path="sign-in" element={<Navigate to="/" replace />} />
              <Route path="*" element={<NotFound />} />
            </Route>
          </Routes>
        </BrowserRouter>
      </SessionProvider>
    </QueryClientProvider>
  );
}

function NotFound() {
  return (
    <>
      <h1>Page not found</h1>
      <p>
        There is no page at this address. <Link to="/">Back to the scorecard</Link>.
      </p>
    </>
  );
}
