package io.ferry.placement.plan;

/** No placement satisfies the hard rules (a PII node and no live edge site, a pin to a forbidden site). */
public final class PlanException extends RuntimeException {
  public PlanException(String message) {
    super(message);
  }
}
