package io.streamscore.flink;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.InputGroup;
import org.apache.flink.table.data.ArrayData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.binary.BinaryArrayData;
import org.apache.flink.table.functions.AggregateFunction;

/**
 * WINDOW_FEATURES(plan STRING, time BIGINT, arg...) OVER (PARTITION BY key ORDER BY ...): every
 * windowed feature of an entity in one keyed operator, as ARRAY[feature 1, ..., feature n, latest
 * earlier event time].
 *
 * <p>The same figures as one RANGE OVER per window length (shared/features/sql.py, what Spark runs),
 * but Flink gives each OVER its own keyed operator, a shuffle, a buffer of whole rows and, for a
 * bounded RANGE, a scan of the key's buffered rows on every firing, all serialized in RocksDB.
 * Here one accumulator per entity keeps only what the features read: the times and argument values
 * of the events within the longest window (plus the allowed lateness), in time order, dropped as
 * they fall out of it.
 *
 * <p>Each value is computed as of the time of the row accumulated last: the events seen so far with
 * a time in [time - window, time]. Ordered by the rowtime (RANGE frame, rows released by the
 * watermark, same-time rows accumulated together before {@link #getValue}) that is exactly the
 * definition. Ordered by arrival (ROWS frame over a processing-time attribute) it is the definition
 * for events that arrive in time order; an event that arrives after a later-timestamped one of its
 * entity is not in that one's windows, and of same-time events only those arrived so far count.
 * Rows with a null time (profile rows in the arrival stream) are not events and are skipped.
 *
 * <p>The plan, written by the feature compiler: {@code kinds|out;out;...|lateness_ms[|ids_ms]}, kinds
 * one letter per argument ({@code n} a number, {@code t} a text), each out {@code agg@window_ms@arg}
 * with agg one of count, sum, mean, max, min, distinct (arg -1 for count). Nulls are skipped as SQL
 * skips them; an aggregate over no value is null.
 *
 * <p>With {@code ids_ms} the function also deduplicates: the argument after the kinds' is the event
 * id, kept (as a {@link #fingerprint}) with the entity's events, for at least ids_ms; the array's last
 * element is the row's occurrence, 1 for an id not among them, and a repeat is not accumulated, so no
 * later event counts it. Only meaningful ordered by arrival, where each row gets its own answer: the
 * keyed state is already read and written for the row, so this costs 8 bytes per kept event, where a
 * separate operator keyed by id costs a shuffle and a state read and write of its own.
 */
public class WindowFeatures extends AggregateFunction<Double[], WindowFeatures.Accumulator> {

    /** The events of one entity within the longest window, oldest first, in parallel arrays (one time each). */
    public static class Accumulator {
        @DataTypeHint(value = "ARRAY<BIGINT NOT NULL>", bridgedTo = ArrayData.class)
        public ArrayData times = BinaryArrayData.fromPrimitiveArray(new long[0]);
        /** Number arguments, event-major: row i's j-th number at i * numberArgs + j; NaN is null. */
        @DataTypeHint(value = "ARRAY<DOUBLE NOT NULL>", bridgedTo = ArrayData.class)
        public ArrayData numbers = BinaryArrayData.fromPrimitiveArray(new double[0]);
        /**
         * Text arguments as {@link #fingerprint}s, laid out like numbers; {@link #NULL_TEXT} is null.
         * Texts are only counted distinct, which needs equality alone, and eight bytes per text are
         * less state than the text.
         */
        @DataTypeHint(value = "ARRAY<BIGINT NOT NULL>", bridgedTo = ArrayData.class)
        public ArrayData texts = BinaryArrayData.fromPrimitiveArray(new long[0]);
        /** The events' id fingerprints, one per time, when the plan deduplicates (empty otherwise). */
        @DataTypeHint(value = "ARRAY<BIGINT NOT NULL>", bridgedTo = ArrayData.class)
        public ArrayData ids = BinaryArrayData.fromPrimitiveArray(new long[0]);
        /** How many times the id of the row accumulated last has arrived, that row included. */
        public long occurrence;
        /** The latest event time so far: events older than it by more than the plan keeps are dropped. */
        public long latest = Long.MIN_VALUE;
        /** The time of the row accumulated last, as of which the features are computed. */
        public long current = Long.MIN_VALUE;
        /** The latest time among the dropped events (Long.MIN_VALUE: none), for the previous event time. */
        public long dropped = Long.MIN_VALUE;

        /** Working copies of the three arrays, from {@link #load} until {@link #store}. */
        transient long[] timeValues;
        transient double[] numberValues;
        transient long[] textValues;
        transient long[] idValues;

        /**
         * The stored arrays are Flink's binary arrays: the state serializer copies those as one block,
         * where a Java array would be written element by element, each boxed (a tenth of the windows'
         * thread in JFR). Reading and writing them here is a memory copy each.
         */
        void load() {
            if (timeValues == null) {
                timeValues = times.toLongArray();
                numberValues = numbers.toDoubleArray();
                textValues = texts.toLongArray();
                idValues = ids.toLongArray();
            }
        }

        void store() {
            times = BinaryArrayData.fromPrimitiveArray(timeValues);
            numbers = BinaryArrayData.fromPrimitiveArray(numberValues);
            texts = BinaryArrayData.fromPrimitiveArray(textValues);
            ids = BinaryArrayData.fromPrimitiveArray(idValues);
        }
    }

    /** The null text; a text whose fingerprint is this is counted as {@link #NOT_NULL_TEXT}. */
    private static final long NULL_TEXT = 0L;

    private static final long NOT_NULL_TEXT = 1L;

    private record Output(String agg, long window, int slot) {}

    private record Plan(
            String text,
            char[] kinds,
            int[] slots,
            int numberArgs,
            int textArgs,
            List<Output> outputs,
            long kept,
            boolean deduplicates) {

        static Plan parse(String text) {
            String[] parts = text.split("\\|", -1);
            char[] kinds = parts[0].toCharArray();
            int[] slots = new int[kinds.length];
            int numbers = 0;
            int texts = 0;
            for (int i = 0; i < kinds.length; i++) {
                slots[i] = kinds[i] == 'n' ? numbers++ : texts++;
            }
            List<Output> outputs = new ArrayList<>();
            long longest = 0;
            for (String out : parts[1].split(";")) {
                String[] f = out.split("@");
                long window = Long.parseLong(f[1]);
                int arg = Integer.parseInt(f[2]);
                outputs.add(new Output(f[0], window, arg < 0 ? -1 : slots[arg]));
                longest = Math.max(longest, window);
            }
            long kept = longest + Long.parseLong(parts[2]);
            boolean deduplicates = parts.length > 3;
            if (deduplicates) {
                kept = Math.max(kept, Long.parseLong(parts[3]));
            }
            return new Plan(text, kinds, slots, numbers, texts, outputs, kept, deduplicates);
        }
    }

    private transient Plan plan;
    private transient StringData planArgument;

    /** The plan of the call's literal; parsed again only when another literal arrives. */
    private Plan plan(StringData text) {
        if (text != planArgument) {
            String literal = text.toString();
            if (plan == null || !plan.text.equals(literal)) {
                plan = Plan.parse(literal);
            }
            planArgument = text;
        }
        return plan;
    }

    @Override
    public Accumulator createAccumulator() {
        return new Accumulator();
    }

    public void accumulate(
            Accumulator acc,
            @DataTypeHint(value = "STRING", bridgedTo = StringData.class) StringData planText,
            Long time,
            @DataTypeHint(inputGroup = InputGroup.ANY) Object... args) {
        Plan p = plan(planText);
        if (time == null) {
            return;
        }
        acc.load();
        long id = p.deduplicates ? fingerprint(args[p.kinds.length].toString()) : 0L;
        if (p.deduplicates) {
            acc.occurrence = 1;
            for (long seen : acc.idValues) {
                if (seen == id) {
                    acc.occurrence++;
                }
            }
            if (acc.occurrence > 1) {
                return;  // a repeat: a dead letter, in no window
            }
        }
        long now = time;
        acc.current = now;
        acc.latest = Math.max(acc.latest, now);
        int rows = acc.timeValues.length;
        grow(acc, p, rows + 1);
        int row = rows;
        while (row > 0 && acc.timeValues[row - 1] > now) {
            row--;
        }
        int later = rows - row;
        System.arraycopy(acc.timeValues, row, acc.timeValues, row + 1, later);
        System.arraycopy(acc.numberValues, row * p.numberArgs, acc.numberValues, (row + 1) * p.numberArgs, later * p.numberArgs);
        System.arraycopy(acc.textValues, row * p.textArgs, acc.textValues, (row + 1) * p.textArgs, later * p.textArgs);
        acc.timeValues[row] = now;
        if (p.deduplicates) {
            System.arraycopy(acc.idValues, row, acc.idValues, row + 1, later);
            acc.idValues[row] = id;
        }
        for (int i = 0; i < p.kinds.length; i++) {
            Object value = args[i];
            if (p.kinds[i] == 'n') {
                acc.numberValues[row * p.numberArgs + p.slots[i]] = value == null ? Double.NaN : ((Number) value).doubleValue();
            } else {
                acc.textValues[row * p.textArgs + p.slots[i]] = value == null ? NULL_TEXT : fingerprint(value.toString());
            }
        }
        drop(acc, p, acc.latest - p.kept);
        acc.store();
    }

    /** Drops the events before `oldest` (the arrays are in time order, so they are a prefix). */
    private static void drop(Accumulator acc, Plan p, long oldest) {
        int rows = acc.timeValues.length;
        int gone = 0;
        while (gone < rows && acc.timeValues[gone] < oldest) {
            gone++;
        }
        if (gone == 0) {
            return;
        }
        acc.dropped = Math.max(acc.dropped, acc.timeValues[gone - 1]);
        acc.timeValues = Arrays.copyOfRange(acc.timeValues, gone, rows);
        acc.numberValues = Arrays.copyOfRange(acc.numberValues, gone * p.numberArgs, rows * p.numberArgs);
        acc.textValues = Arrays.copyOfRange(acc.textValues, gone * p.textArgs, rows * p.textArgs);
        if (p.deduplicates) {
            acc.idValues = Arrays.copyOfRange(acc.idValues, gone, rows);
        }
    }

    /**
     * Exactly the rows asked for: every event reads the arrays from state at their size and writes them
     * back whole, so spare capacity would only be copied and stored.
     */
    private static void grow(Accumulator acc, Plan p, int rows) {
        acc.timeValues = Arrays.copyOf(acc.timeValues, rows);
        acc.numberValues = Arrays.copyOf(acc.numberValues, rows * p.numberArgs);
        acc.textValues = Arrays.copyOf(acc.textValues, rows * p.textArgs);
        if (p.deduplicates) {
            acc.idValues = Arrays.copyOf(acc.idValues, rows);
        }
    }

    @Override
    @DataTypeHint("ARRAY<DOUBLE>")
    public Double[] getValue(Accumulator acc) {
        Plan p = plan;
        acc.load();
        Double[] out = new Double[p.outputs.size() + (p.deduplicates ? 2 : 1)];
        if (p.deduplicates) {
            out[p.outputs.size() + 1] = (double) acc.occurrence;
        }
        if (acc.current == Long.MIN_VALUE) {
            return out;  // no event accumulated yet (a profile row arrived first)
        }
        // Events in [first, end) have a time in the window [current - window, current].
        int end = acc.timeValues.length;
        while (end > 0 && acc.timeValues[end - 1] > acc.current) {
            end--;
        }
        for (int o = 0; o < p.outputs.size(); o++) {
            out[o] = compute(acc, p, p.outputs.get(o), end);
        }
        int earlier = end;
        while (earlier > 0 && acc.timeValues[earlier - 1] >= acc.current) {
            earlier--;
        }
        long before = earlier > 0 ? acc.timeValues[earlier - 1] : acc.dropped;
        out[p.outputs.size()] = before == Long.MIN_VALUE ? null : (double) before;
        return out;
    }

    private static Double compute(Accumulator acc, Plan p, Output output, int end) {
        long oldest = acc.current - output.window;
        int first = 0;
        while (first < end && acc.timeValues[first] < oldest) {
            first++;
        }
        if (output.agg.equals("count")) {
            return (double) (end - first);
        }
        if (output.agg.equals("distinct")) {
            long[] values = new long[end - first];
            int n = 0;
            for (int i = first; i < end; i++) {
                long value = acc.textValues[i * p.textArgs + output.slot];
                if (value != NULL_TEXT) {
                    values[n++] = value;
                }
            }
            Arrays.sort(values, 0, n);
            int distinct = 0;
            for (int i = 0; i < n; i++) {
                if (i == 0 || values[i] != values[i - 1]) {
                    distinct++;
                }
            }
            return (double) distinct;
        }
        long n = 0;
        double sum = 0.0;
        double max = Double.NEGATIVE_INFINITY;
        double min = Double.POSITIVE_INFINITY;
        for (int i = first; i < end; i++) {
            double value = acc.numberValues[i * p.numberArgs + output.slot];
            if (!Double.isNaN(value)) {
                n++;
                sum += value;
                max = Math.max(max, value);
                min = Math.min(min, value);
            }
        }
        if (n == 0) {
            return null;
        }
        return switch (output.agg) {
            case "sum" -> sum;
            case "mean" -> sum / n;
            case "max" -> max;
            case "min" -> min;
            default -> throw new IllegalArgumentException("unknown window aggregate " + output.agg);
        };
    }

    /**
     * A 64-bit hash of the text (FNV-1a over its UTF-16 units, then MurmurHash3's finalizer to spread
     * the bits). Two of n distinct texts in one entity's window share one with a probability of about
     * n^2 / 2^65 (1e-13 for a thousand), far below any feature's tolerance; in exchange the state
     * holds eight bytes per text.
     */
    static long fingerprint(String text) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < text.length(); i++) {
            h = (h ^ text.charAt(i)) * 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h == NULL_TEXT ? NOT_NULL_TEXT : h;
    }
}
