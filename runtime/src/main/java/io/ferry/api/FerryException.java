package io.ferry.api;

/** The cluster refused a request; the message says why. Nothing was changed. */
public class FerryException extends RuntimeException {
  public FerryException(String message) {
    super(message);
  }
}
