package io.ferry.blocks;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** What a file replaced by a rename needs to survive a power loss. */
public final class FileDurability {
  private FileDurability() {}

  /** Forces {@code dir}'s entries, so a rename into it is on disk (the renamed file's bytes need their own force). */
  public static void forceDirectory(Path dir) throws IOException {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    }
  }
}
