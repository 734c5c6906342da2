package io.ferry.api;

import io.ferry.blocks.VolumeSpec;

/**
 * A volume migration the cluster runs: what was asked, and the member
 * addresses its backend (source side) and frontend (target side) run on, empty while unplaced.
 */
public record VolumeInfo(VolumeSpec spec, String backendMember, String frontendMember) {}
