# src/protocol/ fragment: codecs (added to src/libmoxi.a).
EXTRA_DIST += src/protocol/README.md
src_libmoxi_a_SOURCES += \
	src/protocol/request.h src/protocol/value_bytes.h \
	src/protocol/binary_format.h \
	src/protocol/ascii_numbers.h src/protocol/ascii_numbers.cc \
	src/protocol/status_text.h src/protocol/status_text.cc \
	src/protocol/extended_errors.h src/protocol/extended_errors.cc \
	src/protocol/stats_merge.h src/protocol/stats_merge.cc \
	src/protocol/wire_util.h \
	src/protocol/client_codec.h \
	src/protocol/ascii_client.cc \
	src/protocol/binary_client.cc \
	src/protocol/backend_codec.h src/protocol/backend_common.h \
	src/protocol/ascii_backend.cc \
	src/protocol/meta_backend.cc \
	src/protocol/meta_client.h \
	src/protocol/meta_client.cc \
	src/protocol/binary_backend.cc
