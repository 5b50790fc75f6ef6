package io.streamscore.flink;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.functions.AggregateFunction;

/**
 * DRIFT_PARTIALS(partials ARRAY&lt;DOUBLE&gt;, stride INT) per window: the merge of the partials the scorer
 * summed per batch and window slice (streaming/drift_partials.py), in their layout: every watched
 * distribution's [nulls, sum, sum of squares, min, max, count in bin 0, ...] side by side, {@code stride}
 * apart; min +inf and max -inf over no value. The result has the same layout with null sum, sum of
 * squares, min and max for a distribution with no value in the window.
 *
 * <p>Merging in the scorer's layout rather than counting each scored row here: the local window
 * aggregate buffers (copies) every row it is given, which cost the job a quarter of its throughput
 * when it was given every event. Accumulators merge by addition, min and max, so Flink can combine
 * window slices (local-global aggregation). Counts are held as doubles: exact below 2^53.
 */
public class DriftPartials extends AggregateFunction<Double[], DriftPartials.Accumulator> {

    /** Offsets in each distribution's partials (PARTIALS in streaming/drift_partials.py). */
    static final int SUM = 1;
    static final int MIN = 3;
    static final int MAX = 4;

    /** Merged partials of one window so far; empty before the first. */
    public static class Accumulator {
        public int stride;
        public double[] values = new double[0];
    }

    @Override
    public Accumulator createAccumulator() {
        return new Accumulator();
    }

    public void accumulate(Accumulator acc, Double[] partials, Integer stride) {
        if (partials == null) {
            return;
        }
        double[] values = new double[partials.length];
        for (int i = 0; i < values.length; i++) {
            values[i] = partials[i];
        }
        fold(acc, stride, values);
    }

    public void merge(Accumulator acc, Iterable<Accumulator> others) {
        for (Accumulator other : others) {
            if (other.values.length > 0) {
                fold(acc, other.stride, other.values);
            }
        }
    }

    private static void fold(Accumulator acc, int stride, double[] values) {
        if (acc.values.length == 0) {
            acc.stride = stride;
            acc.values = values.clone();
            return;
        }
        if (values.length != acc.values.length || stride != acc.stride) {
            throw new IllegalArgumentException(
                    "partials of " + values.length + " by " + stride + " do not merge into " + acc.values.length
                            + " by " + acc.stride);
        }
        for (int i = 0; i < values.length; i++) {
            int offset = i % stride;
            if (offset == MIN) {
                acc.values[i] = Math.min(acc.values[i], values[i]);
            } else if (offset == MAX) {
                acc.values[i] = Math.max(acc.values[i], values[i]);
            } else {
                acc.values[i] += values[i];
            }
        }
    }

    @Override
    @DataTypeHint("ARRAY<DOUBLE>")
    public Double[] getValue(Accumulator acc) {
        Double[] out = new Double[acc.values.length];
        for (int start = 0; start < out.length; start += acc.stride) {
            boolean any = acc.values[start + MIN] <= acc.values[start + MAX];
            for (int offset = 0; offset < acc.stride; offset++) {
                boolean figure = offset >= SUM && offset <= MAX;
                out[start + offset] = figure && !any ? null : acc.values[start + offset];
            }
        }
        return out;
    }
}
