# src/protocol/ fragment: codecs (added to src/libmoxi.a).
src_libmoxi_a_SOURCES += \
	src/protocol/binary_format.h \
	src/protocol/ascii_numbers.h src/protocol/ascii_numbers.cc
