#include <stdio.h>
#include "greet.h"

void greet(const char *version) {
  printf("hello from the jx example, version %s\n", version);
}
