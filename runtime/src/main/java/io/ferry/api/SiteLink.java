package io.ferry.api;

/**
 * A pair of sites as the placement manager sees it: the round-trip time members of the two sites
 * measured by pinging each other.
 *
 * @param bandwidthBytesPerSec null: bandwidth in use is not measured yet
 * @param lossRatio null: loss is not measured yet
 */
public record SiteLink(String from, String to, double rttMs, Double bandwidthBytesPerSec, Double lossRatio) {}
