# t/ fragment for the vbucket tests.
