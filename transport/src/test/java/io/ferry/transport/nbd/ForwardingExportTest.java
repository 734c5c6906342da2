package io.ferry.transport.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class ForwardingExportTest {

    /** Every call of the interface, defaults included, reaches the delegate: none is answered by a default. */
    @Test
    void everyCallReachesTheDelegate() throws Exception {
        Set<String> reached = new TreeSet<>();
        NbdExport recorder = (NbdExport) Proxy.newProxyInstance(
                NbdExport.class.getClassLoader(),
                new Class<?>[] {NbdExport.class},
                (proxy, method, args) -> {
                    reached.add(method.getName());
                    return switch (method.getName()) {
                        case "name" -> "rec";
                        case "sizeBytes" -> 4096L;
                        case "readOnly", "canMultiConn" -> true;
                        case "read" -> CompletableFuture.completedFuture(new byte[0]);
                        case "blockStatus" -> CompletableFuture.completedFuture(List.of());
                        default -> CompletableFuture.completedFuture(null);
                    };
                });
        NbdExport forwarding = new ForwardingExport(recorder) {};
        Set<String> all = new TreeSet<>();
        for (Method m : NbdExport.class.getMethods()) {
            all.add(m.getName());
            Object[] args = Arrays.stream(m.getParameterTypes())
                    .map(t -> t == long.class ? (Object) 0L : t == int.class ? (Object) 0 : new byte[0])
                    .toArray();
            m.invoke(forwarding, args);
        }
        assertEquals(all, reached);
        // canMultiConn's default is false: the delegate's true must come through.
        assertEquals(true, forwarding.canMultiConn());
        assertEquals(List.of(), forwarding.blockStatus(0, 10).toCompletableFuture().join());
    }
}
