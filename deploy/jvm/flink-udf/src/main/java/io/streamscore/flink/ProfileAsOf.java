package io.streamscore.flink;

import java.util.Arrays;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.functions.AggregateFunction;

/**
 * PROFILE_AS_OF(lateness_ms, time, as_of_ms, value...) OVER (PARTITION BY key ORDER BY arrival ROWS
 * BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW): the entity's profile as of the time of the event
 * accumulated last, as ARRAY[value...] (nulls when no profile version is that old).
 *
 * <p>The event-time temporal join gives an event the profile version with the latest as_of_ms at or
 * before the event's time, but holds every event until the watermark has passed it on both inputs.
 * Here profile versions and events come through one keyed operator in arrival order: a row with an
 * as_of_ms is a version (kept, in as_of order), a row with a time is an event (answered at once).
 * The answer is the temporal join's whenever the version arrived before the event. A version is
 * dropped once a newer one applies to every event that can still come (events more than lateness_ms
 * behind the latest are dead letters upstream), so an entity keeps one or two versions.
 */
public class ProfileAsOf extends AggregateFunction<Double[], ProfileAsOf.Accumulator> {

    /** The kept versions, oldest first: their as_of_ms and their values, version-major (NaN: null). */
    public static class Accumulator {
        public int size;
        public long[] asOf = new long[0];
        public double[] values = new double[0];
        public int width;
        /** The time of the event accumulated last, and the latest event time (Long.MIN_VALUE: none). */
        public long current = Long.MIN_VALUE;
        public long latest = Long.MIN_VALUE;
    }

    @Override
    public Accumulator createAccumulator() {
        return new Accumulator();
    }

    public void accumulate(Accumulator acc, Long latenessMs, Long time, Long asOfMs, Double... values) {
        acc.width = values.length;
        if (asOfMs != null) {
            keep(acc, asOfMs, values);
        } else if (time != null) {
            acc.current = time;
            acc.latest = Math.max(acc.latest, time);
        }
        while (acc.size >= 2 && acc.latest != Long.MIN_VALUE && acc.asOf[1] <= acc.latest - latenessMs) {
            acc.size--;
            System.arraycopy(acc.asOf, 1, acc.asOf, 0, acc.size);
            System.arraycopy(acc.values, acc.width, acc.values, 0, acc.size * acc.width);
        }
    }

    /** Inserts the version in as_of order; a version republished for the same as_of replaces the old one. */
    private static void keep(Accumulator acc, long asOf, Double[] values) {
        int at = acc.size;
        while (at > 0 && acc.asOf[at - 1] > asOf) {
            at--;
        }
        if (at == 0 || acc.asOf[at - 1] != asOf) {
            if (acc.asOf.length == acc.size) {
                acc.asOf = Arrays.copyOf(acc.asOf, acc.size + 2);
                acc.values = Arrays.copyOf(acc.values, (acc.size + 2) * acc.width);
            }
            System.arraycopy(acc.asOf, at, acc.asOf, at + 1, acc.size - at);
            System.arraycopy(acc.values, at * acc.width, acc.values, (at + 1) * acc.width, (acc.size - at) * acc.width);
            acc.size++;
            at++;
        }
        acc.asOf[at - 1] = asOf;
        for (int i = 0; i < acc.width; i++) {
            acc.values[(at - 1) * acc.width + i] = values[i] == null ? Double.NaN : values[i];
        }
    }

    @Override
    @DataTypeHint("ARRAY<DOUBLE>")
    public Double[] getValue(Accumulator acc) {
        Double[] out = new Double[acc.width];
        int version = acc.size - 1;
        while (version >= 0 && acc.asOf[version] > acc.current) {
            version--;
        }
        if (version >= 0) {
            for (int i = 0; i < acc.width; i++) {
                double value = acc.values[version * acc.width + i];
                out[i] = Double.isNaN(value) ? null : value;
            }
        }
        return out;
    }
}
