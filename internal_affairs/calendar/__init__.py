"""The working-day calendar: China's official calendar plus the administrators' overrides.

``working_days`` is the pure core (:class:`~.working_days.WorkCalendar`: no clock, no database);
``models`` holds the overrides, ``queries.get_calendar`` the calendar each process keeps for a
while, ``actions`` the administrators' changes, ``views`` the page and ``api`` the JSON routes.
"""
