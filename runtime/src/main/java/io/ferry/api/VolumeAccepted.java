package io.ferry.api;

import io.ferry.blocks.VolumeId;

/** A volume request the cluster accepted: the members its backend and frontend were placed on. */
public record VolumeAccepted(VolumeId volume, String backendMember, String frontendMember) {}
