# t/ fragment for the conflate tests.
