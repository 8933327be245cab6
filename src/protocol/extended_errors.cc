#include "src/protocol/extended_errors.h"

namespace moxi::protocol {

namespace {
constexpr uint16_t kKeyExists = 0x02;
constexpr uint16_t kInvalidArguments = 0x04;
constexpr uint16_t kAuthError = 0x20;
constexpr uint16_t kNotSupported = 0x83;
constexpr uint16_t kTemporaryFailure = 0x86;

// The requests a lock refuses with "locked-tmpfail" rather than "locked".
bool tmpfail_when_locked(uint8_t opcode) {
  switch (opcode) {
    case 0x04:  // DELETE
    case 0x14:  // DELETEQ
    case 0x94:  // GETL
    case 0x95:  // UNL
      return true;
    default:
      return false;
  }
}
}  // namespace

uint16_t status_without_extended_errors(uint8_t opcode, uint16_t status) {
  switch (status) {
    case 0x09:  // LOCKED
      return tmpfail_when_locked(opcode) ? kTemporaryFailure : kKeyExists;
    case 0x0e:  // NOT_LOCKED
      return kTemporaryFailure;
    case 0x88:  // UNKNOWN_COLLECTION
    case 0x8c:  // UNKNOWN_SCOPE
      return kInvalidArguments;
    case 0x0d:  // ECONFIG_ONLY
      return kNotSupported;
    case 0x08:  // NO_BUCKET
    case 0x1f:  // AUTH_STALE
    case 0x24:  // EACCESS
      return kAuthError;
    default:
      return status;
  }
}

}  // namespace moxi::protocol
