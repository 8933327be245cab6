# src/protocol/ fragment: codecs (added to src/libmoxi.a).
