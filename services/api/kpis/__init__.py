"""KPIs (`/v1/kpis`): named expressions over metric aggregations, and their time series."""
