// Go's time.Duration.String(), the JSON form of metav1.Duration.
//
//   FormatGoDuration(90'000'000'000);  // "1m30s"
//   FormatGoDuration(1'500'000);       // "1.5ms"
#ifndef HERD_SIM_PROTOBUF_INTERNAL_GO_DURATION_H_
#define HERD_SIM_PROTOBUF_INTERNAL_GO_DURATION_H_

#include <cstdint>
#include <string>

namespace herd::sim::protobuf_internal {

// `nanos` as Go prints a time.Duration: hours, minutes and seconds with a
// trimmed fraction ("1h2m3.5s"); below a second in ms, µs or ns; "0s" for 0.
std::string FormatGoDuration(int64_t nanos);

}  // namespace herd::sim::protobuf_internal

#endif  // HERD_SIM_PROTOBUF_INTERNAL_GO_DURATION_H_
