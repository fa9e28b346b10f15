"""Goals (`/v1/goals`): SMART goals on KPIs, their live status, cascade tree and history."""
