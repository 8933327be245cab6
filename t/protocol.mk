# t/ fragment for the protocol tests.
check_PROGRAMS += t/protocol_tests
TESTS += t/protocol_tests
t_protocol_tests_SOURCES = \
	t/protocol/test_util.h t/protocol/test_util.cc t/protocol/backend_test_util.h \
	t/protocol/numbers_test.cc \
	t/protocol/tables_test.cc \
	t/protocol/request_test.cc \
	t/protocol/ascii_client_decode_test.cc \
	t/protocol/ascii_client_encode_test.cc \
	t/protocol/binary_client_test.cc \
	t/protocol/split_property_test.cc \
	t/protocol/ascii_backend_test.cc \
	t/protocol/binary_backend_test.cc \
	t/protocol/meta_backend_test.cc \
	t/protocol/meta_client_test.cc \
	t/protocol/multiget_reassembly_test.cc \
	t/protocol/round_trip_test.cc \
	t/protocol/memcached_live_test.cc
t_protocol_tests_CPPFLAGS = $(TEST_SUPPORT_CPPFLAGS) $(LIBEVENT_CFLAGS)
t_protocol_tests_LDADD = t/libtestsupport.a src/libmoxi.a $(LIBEVENT_LIBS) $(CPPUNIT_LIBS) $(SASL_LIBS) $(LIBSSL_LIBS) $(LIBURING_LIBS)
