package io.ferry.bench;

import io.ferry.runtime.LocalCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ferry bench-volume-life}: issue 14's block benchmarks other than pre-copy, on the emulated
 * WAN: write-back's achieved RPO and coalescing, the reverse's bytes after 5 % of blocks changed,
 * and the background copy between member processes with the target's member killed and restarted.
 * Figures, not a test: nothing is asserted beyond the data ending up right.
 */
@Command(
    name = "bench-volume-life",
    description = {
      "Block migration's end of life: write-back RPO achieved and bytes saved by coalescing, reverse bytes after",
      "5 %% of blocks changed, the background window's pacing before and after, and the background copy between",
      "member processes with the target's member killed and restarted midway (time to complete / time its wire",
      "bytes need at link rate, per phase)."
    })
public final class VolumeLifeBench implements Callable<Integer> {

  @Parameters(index = "0", arity = "0..1", paramLabel = "PART", description = "writeback, reverse, restart, pacing or all (default ${DEFAULT-VALUE})")
  String part = "all";

  @Option(names = "--rtt-ms", paramLabel = "MS", description = "emulated round-trip time (default ${DEFAULT-VALUE})")
  int rttMs = 20;

  @Option(names = "--mbit", paramLabel = "MBIT", description = "emulated bandwidth in Mbit/s (default ${DEFAULT-VALUE})")
  long mbit = 50;

  @Option(names = "--rpo-ms", paramLabel = "MS", description = "write-back RPO (ferry.blocks.changes.rpo) for the run (default ${DEFAULT-VALUE})")
  long rpoMs = 5000;

  @Option(names = "--seconds", paramLabel = "S", description = "length of the write-back workload (default ${DEFAULT-VALUE})")
  int seconds = 30;

  @Option(names = "--commits", paramLabel = "N", description = "commits per second of the write-back workload (default ${DEFAULT-VALUE})")
  int commits = 200;

  @Option(names = "--volume-mib", paramLabel = "MIB", description = "size of the write-back and reverse volumes (default ${DEFAULT-VALUE})")
  int volumeMiB = 32;

  @Option(names = "--changed", paramLabel = "RATIO", description = "share of blocks changed before the reverse (default ${DEFAULT-VALUE})")
  double changed = 0.05;

  @Option(names = "--image-mib", paramLabel = "MIB", description = "ext4 image of the process run, about half full (default ${DEFAULT-VALUE})")
  int imageMiB = 256;

  @Option(names = "--kill-at", paramLabel = "RATIO", description = "share of the image's data blocks sent when the target's member is killed (default ${DEFAULT-VALUE})")
  double killAt = 0.43;

  @Option(names = "--pacing-mib", paramLabel = "MIB", description = "ext4 images of the pacing comparison, about half full (default ${DEFAULT-VALUE})")
  int pacingMiB = 128;

  @Option(names = "--rounds", paramLabel = "N", description = "copies per window in the pacing comparison (default ${DEFAULT-VALUE})")
  int rounds = 2;

  @Option(names = "--member-config", paramLabel = "HOCON", description = "added to every member process's configuration, to try a setting (default none)")
  String memberConfig = "";

  @Option(names = "--seed", paramLabel = "N", description = "workload seed (default ${DEFAULT-VALUE})")
  long seed = 1;

  @Override
  public Integer call() throws Exception {
    if (!List.of("all", "writeback", "reverse", "restart", "pacing").contains(part)) {
      throw new IllegalArgumentException("PART is writeback, reverse, restart, pacing or all, got " + part);
    }
    if (rttMs < 0 || mbit < 1 || rpoMs < 1 || seconds < 1 || commits < 1 || volumeMiB < 1 || volumeMiB > 1024 || changed <= 0 || changed > 1
        || imageMiB < 16 || pacingMiB < 16 || rounds < 1 || killAt <= 0 || killAt >= 1) {
      throw new IllegalArgumentException("out of range: --rtt-ms >= 0, --mbit >= 1, --rpo-ms >= 1, --volume-mib 1..1024, --changed (0, 1], --image-mib >= 16, --kill-at (0, 1)");
    }
    Path base = Files.createTempDirectory("ferry-volume-life-bench");
    System.out.printf("ferry volume end-of-life benchmark: emulated link %d ms RTT, %d Mbit/s; work dir %s; %s%n", rttMs, mbit, base, VolumeRestartBench.load());
    VolumeEndBench.WriteBack wb = null;
    VolumeEndBench.Reverse rev = null;
    if (part.equals("all") || part.equals("writeback") || part.equals("reverse")) {
      try (LocalCluster c = VolumeEndBench.start(base.resolve("cluster"), VolumeEndBench.cluster(rttMs, mbit, rpoMs))) {
        if (!part.equals("reverse")) {
          wb = VolumeEndBench.writeBack(c, base, volumeMiB, seconds, commits, rpoMs, seed);
          System.out.println("after write-back: " + VolumeRestartBench.load());
        }
        if (!part.equals("writeback")) {
          rev = VolumeEndBench.reverse(c, base, volumeMiB, 64 * 1024, changed, seed);
          System.out.println("after reverse: " + VolumeRestartBench.load());
        }
      }
    }
    List<VolumeEndBench.Copy> pacing = List.of();
    if (part.equals("all") || part.equals("pacing")) {
      pacing = VolumeEndBench.pacing(base, rttMs, mbit, pacingMiB, rounds);
    }
    VolumeRestartBench.Result rs = null;
    if (part.equals("all") || part.equals("restart")) {
      rs = VolumeRestartBench.run(base.resolve("processes"), imageMiB, rttMs, mbit, killAt, memberConfig);
      System.out.println("after the process run: " + VolumeRestartBench.load());
    }
    System.out.println();
    if (wb != null) {
      System.out.printf("write-back (8 KiB pages = blocks, RPO %d ms, %d writes, %d distinct pages):%n", wb.rpoMs(), wb.writes(), wb.distinctBlocks());
      System.out.printf("  age of an acknowledged write not yet at the source: p50 %.0f ms, p99 %.0f ms, max %.0f ms (p99 / RPO = %.2f)%n",
          wb.p50Ms(), wb.p99Ms(), wb.maxMs(), wb.p99Ms() / wb.rpoMs());
      System.out.printf("  shipped %d blocks in %d shipments for %d writes: %.1f %% of the bytes saved by coalescing (goal >= 30 %%)%n",
          wb.shippedBlocks(), wb.shipments(), wb.writes(), wb.saved() * 100);
    }
    if (rev != null) {
      System.out.printf("reverse after %.1f %% of blocks changed (%d of %d): shipped %d blocks, bytes sent / volume size = %.3f; source equal: %s%n",
          100.0 * rev.blocksChanged() * rev.blockSize() / rev.volumeBytes(), rev.blocksChanged(), rev.volumeBytes() / rev.blockSize(), rev.blocksShipped(), rev.ratio(),
          rev.sourceEqual());
    }
    for (String window : List.of("blocks (before)", "bytes + turnaround")) {
      List<VolumeEndBench.Copy> of = pacing.stream().filter(x -> x.window().equals(window)).toList();
      if (!of.isEmpty()) {
        System.out.printf("background copy in one JVM, window counted in %-18s: time from first byte to copied / time at link rate %s (mean %.2f)%n", window,
            of.stream().map(x -> String.format("%.2f", x.ratio())).toList(), of.stream().mapToDouble(VolumeEndBench.Copy::ratio).average().orElse(0));
      }
    }
    if (rs != null) {
      if (!memberConfig.isEmpty()) {
        System.out.println("member processes ran with the added setting: " + memberConfig);
      }
      System.out.printf("background copy between member processes, %d MiB ext4, target's member killed at %.0f %% of the data blocks sent and restarted:%n", imageMiB, rs.killAtPercent());
      System.out.printf("  %.1f s from POST /volumes to COPIED; %d bytes crossed, %.1f s at link rate: ratio %.2f (goal <= 1.15)%n",
          rs.totalS(), rs.wireBytes(), rs.linkS(), rs.ratio());
      System.out.printf("  start-up  %6.1f s  (POST answered at %.1f s, the export's URL in the status at %.1f s, the frontend attached at %.1f s)%n", rs.startupS(), rs.acceptedS(), rs.firstExportS(), rs.startupS());
      System.out.printf("  restart   %6.1f s  (after the kill: the new process logs at %.1f s, serves HTTP at %.1f s, the registry places the frontend on it at %.1f s,",
          rs.restartS(), rs.jvmS(), rs.nodeS(), rs.placedS());
      System.out.printf(" the source sees it attach at %.1f s)%n", rs.attachedS());
      System.out.printf("  copying   %6.1f s  (pacing: %.1f s over the %.1f s the link needs; frames sent beyond the image's data blocks %.1f %%)%n",
          rs.copyingS(), rs.pacingS(), rs.linkS(), rs.framesResentShare() * 100);
      System.out.printf("  tail      %6.1f s  (every block present at the target until the status poll sees COPIED)%n", rs.tailS());
    }
    System.out.println(VolumeRestartBench.load());
    if (rev != null && !rev.sourceEqual()) {
      System.out.println("the source after the reverse differs from the acknowledged writes");
      return 1;
    }
    return 0;
  }
}
