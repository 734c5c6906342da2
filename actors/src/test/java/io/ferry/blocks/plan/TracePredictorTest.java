package io.ferry.blocks.plan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class TracePredictorTest {
  static final long[] NONE = {};
  /** A boot that reads 100..109 in order. */
  static final AccessTrace SEQUENTIAL = AccessTrace.of(100, 101, 102, 103, 104, 105, 106, 107, 108, 109);

  @Test
  void prefixOfTheTracePredictsItsContinuation() {
    TracePredictor p = new TracePredictor(SEQUENTIAL, 3, 4);
    assertArrayEquals(NONE, p.onRead(100));
    assertArrayEquals(NONE, p.onRead(101));
    assertArrayEquals(new long[] {103, 104, 105, 106}, p.onRead(102));
    // Following the trace slides the lookahead: only the newly uncovered entry comes out.
    assertArrayEquals(new long[] {107}, p.onRead(103));
    assertArrayEquals(new long[] {108}, p.onRead(104));
  }

  @Test
  void repeatedReadsStillMatch() {
    TracePredictor p = new TracePredictor(SEQUENTIAL, 3, 2);
    p.onRead(100);
    assertArrayEquals(NONE, p.onRead(100));
    p.onRead(101);
    assertArrayEquals(NONE, p.onRead(101));
    assertArrayEquals(new long[] {103, 104}, p.onRead(102));
  }

  @Test
  void readsThatSkipAheadMatchAgainLater() {
    TracePredictor p = new TracePredictor(SEQUENTIAL, 3, 2);
    p.onRead(100);
    p.onRead(101);
    assertArrayEquals(NONE, p.onRead(105)); // 101, 105 skip 102..104: no run of the trace
    assertArrayEquals(NONE, p.onRead(106));
    assertArrayEquals(new long[] {108, 109}, p.onRead(107));
    assertArrayEquals(NONE, p.onRead(108)); // the trace ends
  }

  @Test
  void readsOutOfTraceOrderPredictNothing() {
    TracePredictor p = new TracePredictor(SEQUENTIAL, 3, 4);
    assertArrayEquals(NONE, p.onRead(102));
    assertArrayEquals(NONE, p.onRead(101));
    assertArrayEquals(NONE, p.onRead(100));
    assertArrayEquals(NONE, p.onRead(5));
  }

  @Test
  void eachBlockIsPredictedOnce() {
    TracePredictor p = new TracePredictor(SEQUENTIAL, 3, 3);
    p.onRead(100);
    p.onRead(101);
    assertArrayEquals(new long[] {103, 104, 105}, p.onRead(102));
    // The workload boots again from the start: nothing new to predict within the lookahead.
    p.onRead(100);
    p.onRead(101);
    assertArrayEquals(NONE, p.onRead(102));
  }

  @Test
  void traceThatReadsABlockSeveralTimes() {
    // 5 is a superblock read between every step.
    AccessTrace t = AccessTrace.of(5, 1, 5, 2, 5, 3, 9, 8);
    TracePredictor p = new TracePredictor(t, 3, 10);
    p.onRead(5);
    p.onRead(1);
    p.onRead(5);
    // Distinct reads in order of last occurrence: 1, 5, 2 -- the same as the trace up to position 3.
    assertArrayEquals(new long[] {5, 3, 9, 8}, p.onRead(2));
    assertArrayEquals(NONE, p.onRead(5));
  }

  @Test
  void predictionsOfARepeatedBlockComeOnce() {
    AccessTrace t = AccessTrace.of(1, 2, 3, 7, 4, 7, 5);
    TracePredictor p = new TracePredictor(t, 3, 10);
    p.onRead(1);
    p.onRead(2);
    assertArrayEquals(new long[] {7, 4, 5}, p.onRead(3));
  }

  @Test
  void laterOccurrenceAfterTheLastMatchIsPreferred() {
    // The same three-block run appears twice; the second time, the continuation after the second run is predicted.
    AccessTrace t = AccessTrace.of(1, 2, 3, 10, 11, 1, 2, 3, 20, 21);
    TracePredictor p = new TracePredictor(t, 3, 2);
    p.onRead(1);
    p.onRead(2);
    assertArrayEquals(new long[] {10, 11}, p.onRead(3));
    p.onRead(1);
    p.onRead(2);
    assertArrayEquals(new long[] {20, 21}, p.onRead(3));
  }

  @Test
  void matchLengthOneFollowsEveryRead() {
    TracePredictor p = new TracePredictor(SEQUENTIAL, 1, 1);
    assertArrayEquals(new long[] {105}, p.onRead(104));
    assertArrayEquals(new long[] {106}, p.onRead(105));
  }

  @Test
  void defaults() {
    long[] boot = new long[1000];
    for (int i = 0; i < boot.length; i++) {
      boot[i] = 10_000 - i * 3L;
    }
    TracePredictor p = new TracePredictor(AccessTrace.of(boot));
    p.onRead(boot[0]);
    p.onRead(boot[1]);
    long[] next = p.onRead(boot[2]);
    assertEquals(TracePredictor.LOOKAHEAD_DEFAULT, next.length);
    assertEquals(boot[3], next[0]);
    assertEquals(boot[3 + 255], next[255]);
  }

  @Test
  void rejectsBadSettings() {
    assertThrows(IllegalArgumentException.class, () -> new TracePredictor(SEQUENTIAL, 0, 4));
    assertThrows(IllegalArgumentException.class, () -> new TracePredictor(SEQUENTIAL, 3, 0));
    assertThrows(IllegalArgumentException.class, () -> new TracePredictor(SEQUENTIAL, 3, 4).onRead(-1));
  }
}
