package io.streamscore.flink;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.functions.AggregateFunction;

/**
 * DRIFT_PARTIALS(value DOUBLE, bin SMALLINT, bins INT) per window: ARRAY[nulls, sum, sum of squares,
 * min, max, count in bin 0, ..., count in bin bins-1], the layout streaming/drift_records.py reads.
 *
 * <p>The same figures as COUNT(*) FILTER (WHERE bin = i) per bin, but the planner turns every FILTER
 * predicate into a column of the row that the local window aggregate buffers (serialized), about
 * 180 columns for the example pipeline, which cost more than scoring. Here the buffered row holds
 * one value and one bin per feature. Accumulators merge by addition, so Flink can combine window
 * slices (local-global aggregation). A bin of -1 is a null value.
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

    public void accumulate(Accumulator acc, Double value, Short bin, Integer bins) {
        acc.grow(bins);
        if (value == null || bin == null || bin < 0) {
            acc.nulls++;
            return;
        }
        double v = value;
        acc.sum += v;
        acc.squares += v * v;
        acc.min = Math.min(acc.min, v);
        acc.max = Math.max(acc.max, v);
        acc.bins[Math.min(bin, bins - 1)]++;
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
