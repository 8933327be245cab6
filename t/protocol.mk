# t/ fragment for the protocol tests.
