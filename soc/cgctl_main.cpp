// placeholder until wired
int main() { return 0; }
