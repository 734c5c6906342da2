package io.ferry.transport.frame;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The block path's per-block cost on one core: encoding a block into a frame (zero check, LZ4
 * attempt, CRC32C) and decoding it back (CRC check, LZ4 decompression), for the three kinds of
 * content a volume holds. Run by hand (see the module README); never part of {@code mvn verify}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
public class BlockFrameBench {

  /** zero: all-zero blocks (ZERO frames); text: compressible (LZ4); random: incompressible (RAW). */
  @Param({"zero", "text", "random"})
  public String content;

  @Param({"65536"})
  public int blockBytes;

  private BlockFrameEncoder encoder;
  private BlockFrameDecoder decoder;
  private byte[] block;
  private UnsafeBuffer frame;
  private int frameLength;

  @Setup
  public void setUp() {
    encoder = new BlockFrameEncoder(blockBytes);
    decoder = new BlockFrameDecoder(blockBytes);
    block = content(content, blockBytes);
    frame = new UnsafeBuffer(new byte[BlockFrameEncoder.maxFrameLength(blockBytes)]);
    frameLength = encode();
    if (decoder.decode(frame, 0, frameLength) != DecodeResult.OK) {
      throw new IllegalStateException("the benchmark's own frame does not decode");
    }
  }

  @Benchmark
  public int encode() {
    return encoder.encode(BlockFrame.STREAM_BACKGROUND, 1, 0, 7, block, blockBytes, null, false, frame, 0);
  }

  @Benchmark
  public DecodeResult decode() {
    return decoder.decode(frame, 0, frameLength);
  }

  private static byte[] content(String kind, int length) {
    byte[] b = new byte[length];
    switch (kind) {
      case "zero" -> {}
      case "random" -> new Random(42).nextBytes(b);
      case "text" -> {
        byte[] words = "the quick brown fox jumps over the lazy dog while ferry copies volume blocks; ".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        for (int i = 0; i < length; i++) {
          b[i] = words[(i * 7 + i / words.length) % words.length];
        }
      }
      default -> throw new IllegalArgumentException("content must be zero, text or random, got " + kind);
    }
    return b;
  }
}
