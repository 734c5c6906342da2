package io.ferry.api;

/** A site as the placement manager last saw it: its cores (configured or counted), the cores in use and whether a member lives there. */
public record SiteLoad(String site, String tier, double cores, double loadCores, boolean live) {}
