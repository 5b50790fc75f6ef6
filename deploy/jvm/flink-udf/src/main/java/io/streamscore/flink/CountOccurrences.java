package io.streamscore.flink;

import java.time.Duration;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Optional;

import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.catalog.DataTypeFactory;
import org.apache.flink.table.functions.ProcessTableFunction;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.inference.CallContext;
import org.apache.flink.table.types.inference.StateTypeStrategy;
import org.apache.flink.table.types.inference.StaticArgument;
import org.apache.flink.table.types.inference.StaticArgumentTrait;
import org.apache.flink.table.types.inference.TypeInference;
import org.apache.flink.table.types.inference.TypeStrategies;
import org.apache.flink.types.Row;

/**
 * COUNT_OCCURRENCES(input => TABLE t PARTITION BY id, forget_after_ms => n) passes every row of t
 * through at once, with how many rows of its partition have arrived up to and including it (column
 * {@value #OUTPUT}); a partition none arrived for in forget_after_ms (processing time) is forgotten
 * and counts from 1.
 *
 * <p>Deduplication by event id needs one small counter per id and nothing else. The SQL
 * alternatives either keep the counter for the job-wide state TTL (an OVER aggregate has no TTL of
 * its own: at 278k events/s, two days is 48 billion ids) or hold whole rows until the watermark
 * (an event-time frame). Here the counter's own TTL, taken from the call's literal argument, bounds
 * the state to the ids of the last forget_after_ms; RocksDB drops expired ids during compaction.
 */
public class CountOccurrences extends ProcessTableFunction<Row> {
    /** The count's column, named so no event field (passed through beside it) is likely to clash. */
    public static final String OUTPUT = "__occurrence";

    private static final int FORGET_AFTER_ARGUMENT = 1;

    /** The per-id state. */
    public static class Seen {
        public long count;
    }

    public void eval(Seen seen, Row input, Long forgetAfterMs) {
        seen.count += 1;
        collect(Row.of(seen.count));
    }

    @Override
    public TypeInference getTypeInference(DataTypeFactory typeFactory) {
        LinkedHashMap<String, StateTypeStrategy> state = new LinkedHashMap<>();
        state.put("seen", new ForgetAfter(typeFactory.createDataType(Seen.class)));
        return TypeInference.newBuilder()
                .staticArguments(
                        StaticArgument.table(
                                "input",
                                Row.class,
                                false,
                                EnumSet.of(
                                        StaticArgumentTrait.TABLE,
                                        StaticArgumentTrait.SET_SEMANTIC_TABLE,
                                        StaticArgumentTrait.PASS_COLUMNS_THROUGH)),
                        StaticArgument.scalar("forget_after_ms", DataTypes.BIGINT().notNull(), false))
                .stateTypeStrategies(state)
                .outputTypeStrategy(TypeStrategies.explicit(
                        DataTypes.ROW(DataTypes.FIELD(OUTPUT, DataTypes.BIGINT().notNull())).notNull()))
                .build();
    }

    /** The state's type, with a time-to-live read from the call's forget_after_ms literal. */
    private static final class ForgetAfter implements StateTypeStrategy {
        private final DataType type;

        ForgetAfter(DataType type) {
            this.type = type;
        }

        @Override
        public Optional<DataType> inferType(CallContext context) {
            return Optional.of(type);
        }

        @Override
        public Optional<Duration> getTimeToLive(CallContext context) {
            // A literal of another type (600000 is an INT) reaches code generation wrapped in a cast,
            // no longer a literal: the caller must write the BIGINT itself.
            if (!context.isArgumentLiteral(FORGET_AFTER_ARGUMENT)) {
                throw context.newValidationError(
                        "forget_after_ms must be a BIGINT literal, such as CAST(600000 AS BIGINT)");
            }
            return context.getArgumentValue(FORGET_AFTER_ARGUMENT, Long.class).map(Duration::ofMillis);
        }
    }
}
