package io.ferry.api;

/**
 * A pair of sites as the placement manager sees it: the round-trip time members of the two sites
 * measured by pinging each other, the bytes per second the query edges between them carried and
 * the share of pulls across them that timed out and were sent again, both since the manager's
 * previous re-plan, and the configured capacity (ferry.placement.default-link.bandwidth).
 *
 * @param rttMs negative when the pair was not probed (only traffic seen)
 * @param bandwidthBytesPerSec bandwidth in use: bytes/s measured between the two sites
 * @param lossRatio null when no pull crossed the pair in the last interval
 */
public record SiteLink(String from, String to, double rttMs, Double bandwidthBytesPerSec, Double lossRatio, double capacityBytesPerSec) {}
