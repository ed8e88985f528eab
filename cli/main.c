/* lnlfer: command-line front end of the lnlfer engine. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *out) {
  fprintf(out, "usage: lnlfer COMMAND [OPTIONS] IMAGE...\n"
               "\n"
               "commands:\n"
               "  classify   classify each image as an already-cropped face\n"
               "  detect     find the faces in each image (boxes, scores, landmarks)\n"
               "  analyze    detect, align and classify every face of each image\n"
               "  annotate   draw the faces' region maps, boxes and labels over an image\n"
               "  bench      time the network and, optionally, a whole photo\n"
               "\n"
               "Run 'lnlfer COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("lnlfer %s\n", LNLFER_VERSION);
    return 0;
  }
  if (strcmp(argv[1], "classify") == 0) return cmd_classify(argc - 1, argv + 1);
  if (strcmp(argv[1], "detect") == 0) return cmd_detect(argc - 1, argv + 1);
  if (strcmp(argv[1], "analyze") == 0) return cmd_analyze(argc - 1, argv + 1);
  if (strcmp(argv[1], "annotate") == 0) return cmd_annotate(argc - 1, argv + 1);
  if (strcmp(argv[1], "bench") == 0) return cmd_bench(argc - 1, argv + 1);
  fprintf(stderr, "lnlfer: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
