package io.ferry.tasks;

import io.ferry.persistence.CborSerializable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;

/**
 * One member's copy of the queue's operations: persists each operation the primary sends under
 * its own persistence id, then acknowledges it. The primary answers a request only once enough
 * replicas have acknowledged, so an acknowledged operation is durable in that many journals.
 * A repeated or older operation (the primary resends after a restart) is acknowledged again
 * without a second copy.
 */
public final class QueueReplica extends EventSourcedBehavior<QueueReplica.Command, QueueReplica.Replicated, QueueReplica.State> {
  public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "ferry-job-queue-replica");

  public sealed interface Command extends CborSerializable {}

  /** The primary's operations up to its sequence number {@code seqNr}, the last of {@code ops}. */
  public record Replicate(long seqNr, java.util.List<QueueOp> ops, ActorRef<Ack> replyTo) implements Command {}

  public record Ack(long seqNr, String member) implements CborSerializable {}

  public record Replicated(long seqNr, java.util.List<QueueOp> ops) implements CborSerializable {}

  /** @param lastSeqNr the highest primary sequence number held */
  public record State(long lastSeqNr, long held) {}

  private final String member;

  public static Behavior<Command> create() {
    return Behaviors.setup(ctx -> {
      ctx.getSystem().receptionist().tell(Receptionist.register(KEY, ctx.getSelf()));
      return new QueueReplica(Cluster.get(ctx.getSystem()).selfMember().address().toString(),
          Cluster.get(ctx.getSystem()).selfMember().uniqueAddress().longUid());
    });
  }

  private QueueReplica(String member, long uid) {
    // One copy per member incarnation: a restarted member starts a fresh copy.
    super(PersistenceId.ofUniqueId("ferry-job-queue-replica|" + member + "|" + uid));
    this.member = member;
  }

  @Override
  public State emptyState() {
    return new State(0, 0);
  }

  @Override
  public CommandHandler<Command, Replicated, State> commandHandler() {
    return newCommandHandlerBuilder().forAnyState().onCommand(Replicate.class, (s, c) -> {
      if (c.seqNr() <= s.lastSeqNr()) {
        c.replyTo().tell(new Ack(c.seqNr(), member));
        return Effect().none();
      }
      return Effect().persist(new Replicated(c.seqNr(), c.ops())).thenRun(st -> c.replyTo().tell(new Ack(c.seqNr(), member)));
    }).build();
  }

  @Override
  public EventHandler<State, Replicated> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent((s, e) -> new State(e.seqNr(), s.held() + e.ops().size()));
  }
}
