# src/core/ fragment: the command line (options) module, added to src/libmoxi.a,
# and the manual page that documents it.
src_libmoxi_a_SOURCES += \
	src/core/options.h \
	src/core/options.cc
