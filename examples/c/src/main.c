#include <stdio.h>
#include "version.h"
#include "greet.h"

int main(void) {
  greet(JX_EXAMPLE_VERSION);
  return 0;
}
