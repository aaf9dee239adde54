"""Businesses and the people who sign in for them: sign-up, confirmation, sign-in, resets, staff."""
