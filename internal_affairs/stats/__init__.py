"""Supervision (效能监察) and the applicants' ratings (好差评): figures per agency, matter type and
period, who may see them, and the rating of a finished case."""
