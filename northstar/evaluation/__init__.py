"""Evaluation: KPI values read from the rollups, and goals judged and recorded.

This is the layer between the pure rules in `northstar.domain` and the database: it
reads what the rules need, calls them, and writes what they decide. The evaluator runs
it after every stored batch and on its timer; the api runs it when a goal is created or
changed, so a new goal has a status at once.
"""
