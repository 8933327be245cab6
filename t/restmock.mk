# t/ fragment for rest_mock (rest_mock/rest_mock.rb, the mock of the cluster
# manager's streaming REST API) and its C++ fixture t/support/rest_mock.h.
check_PROGRAMS += t/restmock_tests
TESTS += t/restmock_tests
t_restmock_tests_SOURCES = \
	t/restmock/helpers.cc t/restmock/helpers.h \
	t/restmock/streaming_test.cc \
	t/restmock/rest_api_test.cc \
	t/restmock/control_test.cc \
	t/restmock/lifecycle_test.cc
t_restmock_tests_CPPFLAGS = $(TEST_SUPPORT_CPPFLAGS)
t_restmock_tests_LDADD = t/libtestsupport.a $(LIBCURL_LIBS) $(CPPUNIT_LIBS)
EXTRA_DIST += rest_mock/rest_mock.rb rest_mock/README.md
