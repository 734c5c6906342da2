package io.ferry.api;

import io.ferry.blocks.VolumeId;

/**
 * A user's request to a volume migration, accepted and durable at its target: the phase after it,
 * and {@code message} when it changed nothing (a repeat, e.g. "already paused"; "" otherwise).
 */
public record VolumeControlled(VolumeId volume, String action, VolumePhase phase, String message) {}
