package io.ferry.blocks;

import io.ferry.persistence.CborSerializable;
import java.io.IOException;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The second frontend of a clustered volume (seed 001, FIG. 6), on another member of the target
 * site than the primary: a thin shell over {@link MirrorVolume} that holds what the primary sends
 * and answers once it is in this member's store. Not persistent: what it holds lives in the store
 * and the change log, which the frontend started here when the primary's member dies opens (the
 * agent stops the mirror first). The primary's {@link MirrorLink} decides what to send.
 */
public final class BlockMirror {

  public sealed interface Command extends CborSerializable {}

  /**
   * Hold version {@code version} of {@code block} ({@code data} empty: zeros) of a volume of
   * {@code sizeBytes} in blocks of {@code blockSize}; {@code block} -1: force what is held.
   */
  public record Hold(
      long id, long sizeBytes, int blockSize, long block, long version, byte[] data, boolean localWrite, long pending, ActorRef<Held> replyTo)
      implements Command {}

  public record GetStatus(ActorRef<StatusReply> replyTo) implements Command {}

  /**
   * The source confirmed the primary's write-back shipment {@code shipment}: {@code blocks[i]} at
   * the primary's sequence {@code sequences[i]}. The mirror's change log marks them shipped, so a
   * promotion ships only what the source still lacks. Not answered: one lost costs a re-ship of
   * the same bytes after a promotion, nothing more.
   */
  public record Shipped(long shipment, long[] blocks, long[] sequences) implements Command {}

  public record Held(long id) implements CborSerializable {}

  public record StatusReply(long blocksPresent, long held, long stale, long pendingBlocks) implements CborSerializable {}

  public static Behavior<Command> create(VolumeId volume) {
    return Behaviors.setup(ctx -> {
      BlockResources resources = BlockResources.get(ctx.getSystem());
      MirrorVolume[] mirror = {null};
      return Behaviors.receive(Command.class)
          .onMessage(Hold.class, h -> {
            if (mirror[0] == null || !mirror[0].fits(h.sizeBytes(), h.blockSize())) {
              if (mirror[0] != null) {
                mirror[0].close();
              }
              // Opened on the first block: the primary knows the geometry, the agent may not.
              mirror[0] = MirrorVolume.open(volume, resources.store(), resources.changesLog(volume), System::nanoTime, h.sizeBytes(), h.blockSize());
              ctx.getLog().info("volume={} mirror opened here ({} bytes, blocks of {}): earlier contents dropped, filled by the primary", volume, h.sizeBytes(), h.blockSize());
            }
            if (h.block() < 0) {
              mirror[0].sync();
            } else {
              mirror[0].hold(h.block(), h.version(), h.data(), h.localWrite(), h.pending());
            }
            h.replyTo().tell(new Held(h.id()));
            return Behaviors.same();
          })
          .onMessage(Shipped.class, s -> {
            if (mirror[0] != null) {
              mirror[0].shipped(s.shipment(), s.blocks(), s.sequences());
            }
            return Behaviors.same();
          })
          .onMessage(GetStatus.class, g -> {
            MirrorVolume m = mirror[0];
            g.replyTo().tell(m == null ? new StatusReply(0, 0, 0, 0) : new StatusReply(m.blocksPresent(), m.held(), m.stale(), m.pendingBlocks()));
            return Behaviors.same();
          })
          .onSignal(PostStop.class, s -> {
            if (mirror[0] != null) {
              try {
                mirror[0].close();
              } catch (IOException e) {
                ctx.getLog().warn("volume={} closing the mirror's change log failed: {}", volume, e.getMessage());
              }
            }
            return Behaviors.same();
          })
          .build();
    });
  }
}
