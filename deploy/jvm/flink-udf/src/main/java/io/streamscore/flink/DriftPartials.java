package io.streamscore.flink;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.functions.AggregateFunction;

/**
 * DRIFT_PARTIALS(partials ARRAY&lt;DOUBLE&gt;) per window: the merge of the partials the scorer summed per
 * batch and window slice (streaming/drift_partials.py), in their layout: ARRAY[nulls, sum, sum of
 * squares, min, max, count in bin 0, ...], min +inf and max -inf over no value. The result has the
 * same layout with null sum, sum of squares, min and max when the window holds no value.
 *
 * <p>Merging in the scorer's layout rather than counting each scored row here: the local window
 * aggregate buffers (copies) every row it is given, which cost the job a quarter of its throughput
 * when it was given every event. Accumulators merge by addition, min and max, so Flink can combine
 * window slices (local-global aggregation).
 */
public class DriftPartials extends AggregateFunction<Double[], DriftPartials.Accumulator> {

    /** Running figures of one feature in one slice. */
    public static class Accumulator {
        public long nulls;
        public double sum;
        public double squares;
        public double min = Double.POSITIVE_INFINITY;
        public double max = Double.NEGATIVE_INFINITY;
        public long[] bins = new long[0];

        void grow(int size) {
            if (bins.length < size) {
                long[] wider = new long[size];
                System.arraycopy(bins, 0, wider, 0, bins.length);
                bins = wider;
            }
        }
    }

    @Override
    public Accumulator createAccumulator() {
        return new Accumulator();
    }

    public void accumulate(Accumulator acc, Double[] partials) {
        if (partials == null) {
            return;
        }
        acc.grow(partials.length - 5);
        acc.nulls += Math.round(partials[0]);
        acc.sum += partials[1];
        acc.squares += partials[2];
        acc.min = Math.min(acc.min, partials[3]);
        acc.max = Math.max(acc.max, partials[4]);
        for (int i = 5; i < partials.length; i++) {
            acc.bins[i - 5] += Math.round(partials[i]);
        }
    }

    public void merge(Accumulator acc, Iterable<Accumulator> others) {
        for (Accumulator other : others) {
            acc.grow(other.bins.length);
            acc.nulls += other.nulls;
            acc.sum += other.sum;
            acc.squares += other.squares;
            acc.min = Math.min(acc.min, other.min);
            acc.max = Math.max(acc.max, other.max);
            for (int i = 0; i < other.bins.length; i++) {
                acc.bins[i] += other.bins[i];
            }
        }
    }

    @Override
    @DataTypeHint("ARRAY<DOUBLE>")
    public Double[] getValue(Accumulator acc) {
        boolean any = acc.min <= acc.max;
        Double[] out = new Double[5 + acc.bins.length];
        out[0] = (double) acc.nulls;
        out[1] = any ? acc.sum : null;
        out[2] = any ? acc.squares : null;
        out[3] = any ? acc.min : null;
        out[4] = any ? acc.max : null;
        for (int i = 0; i < acc.bins.length; i++) {
            out[5 + i] = (double) acc.bins[i];
        }
        return out;
    }
}
