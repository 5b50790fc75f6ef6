package io.streamscore.flink;

import java.util.Set;

import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.format.EncodingFormat;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.factories.DynamicTableFactory;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.factories.SerializationFormatFactory;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.logical.RowType;

/**
 * Format {@code registered-avro}: Avro in the Confluent wire format (magic byte 0, the schema's id,
 * binary Avro) with a schema registered before the job starts, written without asking a registry.
 *
 * <p>Flink's avro-confluent format asks its registry client for the schema's id on every record (a
 * new AvroSchema hashed into a bounded LRU map): 9 % of the TaskManager's CPU in the scoring job
 * (JFR). The job registers each sink's schema once at submission (streaming/kafka_tables.py), so
 * the id is known; registry ids are global and never reused, so any Confluent deserializer reads
 * the records. The records themselves are written by {@link FlatAvroWriter}.
 */
public class RegisteredAvroFormatFactory implements SerializationFormatFactory {
    public static final String IDENTIFIER = "registered-avro";

    static final ConfigOption<String> SCHEMA = ConfigOptions.key("schema")
            .stringType()
            .noDefaultValue()
            .withDescription("The Avro schema the records are written with, as registered.");
    static final ConfigOption<Integer> SCHEMA_ID = ConfigOptions.key("schema-id")
            .intType()
            .noDefaultValue()
            .withDescription("The registry's id of that schema.");

    @Override
    public EncodingFormat<SerializationSchema<RowData>> createEncodingFormat(
            DynamicTableFactory.Context context, ReadableConfig options) {
        FactoryUtil.validateFactoryOptions(this, options);
        String schema = options.get(SCHEMA);
        int id = options.get(SCHEMA_ID);
        return new EncodingFormat<>() {
            @Override
            public SerializationSchema<RowData> createRuntimeEncoder(
                    DynamicTableSink.Context sinkContext, DataType physicalType) {
                return new FlatAvroWriter(schema, id, (RowType) physicalType.getLogicalType());
            }

            @Override
            public ChangelogMode getChangelogMode() {
                return ChangelogMode.insertOnly();
            }
        };
    }

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return Set.of(SCHEMA, SCHEMA_ID);
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return Set.of();
    }
}
