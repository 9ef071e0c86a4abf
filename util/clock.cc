#include "util/clock.h"

namespace concordfs {

Clock* Clock::Default() {
  static SystemClock clock;
  return &clock;
}

}  // namespace concordfs
