// cgctl: the operator CLI for SOC analysts and admins, over the operator API (cgctl.h).
#include "cgctl/cgctl.h"

int main(int argc, char** argv) { return cg::cgctl::Run(argc, argv); }
