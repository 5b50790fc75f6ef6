package io.streamscore.flink;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReferenceArray;

import org.apache.flink.avro.registry.confluent.shaded.io.confluent.kafka.schemaregistry.client.CachedSchemaRegistryClient;
import org.apache.flink.avro.registry.confluent.shaded.io.confluent.kafka.schemaregistry.client.rest.exceptions.RestClientException;
import org.apache.flink.avro.shaded.org.apache.avro.AvroTypeException;
import org.apache.flink.avro.shaded.org.apache.avro.Schema;
import org.apache.flink.avro.shaded.org.apache.avro.generic.GenericDatumReader;
import org.apache.flink.avro.shaded.org.apache.avro.generic.GenericRecord;
import org.apache.flink.avro.shaded.org.apache.avro.io.BinaryDecoder;
import org.apache.flink.avro.shaded.org.apache.avro.io.DecoderFactory;
import org.apache.flink.formats.avro.AvroToRowDataConverters;
import org.apache.flink.formats.avro.typeutils.AvroSchemaConverter;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.catalog.DataTypeFactory;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.ScalarFunction;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.inference.TypeInference;
import org.apache.flink.table.types.logical.RowType;

/**
 * DECODE_CONFLUENT_AVRO(message BYTES, reader_schema STRING literal, registry_url STRING literal)
 * returns ROW(error STRING, schema_id INT, record ROW(...reader schema...)).
 *
 * <p>Flink's avro-confluent format fails the job on a record it cannot decode; a scoring job must
 * instead send that record to a dead-letter topic with its bytes and a reason. This function
 * decodes in the JVM exactly like the format (writer schema from the registry by the id in the
 * Confluent header, resolved to the reader schema) and turns every decoding failure into a value:
 * error is null and record set on success; error names the reason and record is null otherwise.
 * A registry that cannot be reached is not the record's fault, so it fails the call (and the job
 * restarts from its checkpoint) instead of dead-lettering good data.
 */
public class DecodeConfluentAvro extends ScalarFunction {
    private static final int HEADER = 5;
    private static final int MAX_CACHED_SCHEMAS = 1000;

    private transient CachedSchemaRegistryClient registry;
    private transient Schema reader;
    private transient AvroToRowDataConverters.AvroToRowDataConverter converter;
    private transient Map<Integer, GenericDatumReader<GenericRecord>> readers;
    private transient BinaryDecoder decoder;
    private transient StringData schemaArgument;
    private transient StringData urlArgument;
    /** The registry URL and reader schema set up, interned: one object per configuration in the JVM. */
    private transient String configuration;

    /** A message a thread decoded under a configuration, with its result. */
    private record Decoded(Thread thread, byte[] message, String configuration, RowData result) {}

    /**
     * The last message each task thread decoded, in a slot chosen by its thread id. The planner calls
     * the function for the rowtime (in the source's watermark generator and again in the projection
     * that computes it) and for the decoded row, in the same chained task thread but on several
     * instances of this class; every call after the first finds the bytes here instead of decoding
     * them again. Decoding is a pure function of the bytes, the reader schema and the registry. Slots
     * rather than a ThreadLocal: a task thread's ThreadLocal map is crowded and that lookup alone took
     * 5 % of the TaskManager's CPU (JFR). Two threads on one slot only miss; an entry is used only by
     * the thread that wrote it.
     */
    private static final AtomicReferenceArray<Decoded> LAST = new AtomicReferenceArray<>(64);

    /**
     * Decoding is deterministic, but declared otherwise so the planner keeps the projection that calls
     * it apart: it merges a deterministic call into every expression of the next projection that reads
     * its result, and the validation's reads one field in each of dozens of expressions (84 calls per
     * record for the example's events, each comparing the bytes with the last message).
     */
    @Override
    public boolean isDeterministic() {
        return false;
    }

    @Override
    public void open(FunctionContext context) {
        readers = new HashMap<>();
    }

    /**
     * Takes the schema and URL as StringData: converting the schema literal (kilobytes) to a Java String
     * on every call cost a fifth of the source thread (JFR), and the planner calls this several times
     * per record.
     */
    public RowData eval(byte[] message, StringData readerSchema, StringData registryUrl) {
        if (readerSchema != schemaArgument || registryUrl != urlArgument) {
            setUp(readerSchema, registryUrl);
        }
        Thread thread = Thread.currentThread();
        int slot = (int) (thread.getId() & (LAST.length() - 1));
        Decoded last = LAST.get(slot);
        if (message != null
                && last != null
                && last.thread() == thread
                && last.configuration() == configuration
                && Arrays.equals(message, last.message())) {
            return last.result();
        }
        RowData result = decode(message);
        // the caller may reuse its array
        LAST.lazySet(slot, new Decoded(thread, message == null ? null : message.clone(), configuration, result));
        return result;
    }

    private RowData decode(byte[] message) {
        if (message == null || message.length < HEADER) {
            return failure("not_wire_format: " + (message == null ? "null value" : message.length + " bytes"), null);
        }
        ByteBuffer buffer = ByteBuffer.wrap(message);
        if (buffer.get() != 0) {
            return failure("not_wire_format: magic byte " + message[0], null);
        }
        int schemaId = buffer.getInt();
        GenericDatumReader<GenericRecord> datumReader = readers.get(schemaId);
        if (datumReader == null) {
            Schema writer;
            try {
                writer = (Schema) registry.getSchemaById(schemaId).rawSchema();
            } catch (RestClientException e) {
                if (e.getStatus() == 404) {
                    return failure("unknown_schema_id: " + schemaId, schemaId);
                }
                throw new UncheckedIOException(new IOException("schema registry error for id " + schemaId, e));
            } catch (IOException e) {
                throw new UncheckedIOException("schema registry unreachable for id " + schemaId, e);
            } catch (ClassCastException e) {
                return failure("not_avro_schema: " + schemaId, schemaId);
            }
            datumReader = new GenericDatumReader<>(writer, reader);
            readers.put(schemaId, datumReader);
        }
        try {
            decoder = DecoderFactory.get().binaryDecoder(message, HEADER, message.length - HEADER, decoder);
            GenericRecord record = datumReader.read(null, decoder);
            if (!decoder.isEnd()) {
                return failure("trailing_bytes", schemaId);
            }
            GenericRowData row = new GenericRowData(3);
            row.setField(1, schemaId);
            row.setField(2, converter.convert(record));
            return row;
        } catch (IOException | RuntimeException e) {
            // EOFException (truncated), AvroTypeException, AvroRuntimeException, bad lengths...
            String kind = e instanceof AvroTypeException ? "type_mismatch" : "undecodable";
            return failure(kind + ": " + e.getClass().getSimpleName(), schemaId);
        }
    }

    private void setUp(StringData readerSchema, StringData registryUrl) {
        schemaArgument = readerSchema;
        urlArgument = registryUrl;
        String schema = readerSchema.toString();
        String url = registryUrl.toString();
        String wanted = (url + "\n" + schema).intern();
        if (wanted == configuration) {
            return;
        }
        reader = new Schema.Parser().parse(schema);
        RowType rowType = (RowType) AvroSchemaConverter.convertToDataType(schema).getLogicalType();
        converter = AvroToRowDataConverters.createRowConverter(rowType);
        registry = new CachedSchemaRegistryClient(url, MAX_CACHED_SCHEMAS);
        readers = new HashMap<>();
        configuration = wanted;
    }

    private static RowData failure(String reason, Integer schemaId) {
        GenericRowData row = new GenericRowData(3);
        row.setField(0, StringData.fromString(reason));
        row.setField(1, schemaId);
        return row;
    }

    @Override
    public TypeInference getTypeInference(DataTypeFactory typeFactory) {
        return TypeInference.newBuilder()
                .typedArguments(
                        DataTypes.BYTES(),
                        DataTypes.STRING().bridgedTo(StringData.class),
                        DataTypes.STRING().bridgedTo(StringData.class))
                .outputTypeStrategy(call -> {
                    String schema = call.getArgumentValue(1, String.class)
                            .orElseThrow(() -> new ValidationException(
                                    "DECODE_CONFLUENT_AVRO: the reader schema must be a string literal"));
                    DataType record = AvroSchemaConverter.convertToDataType(schema);
                    return Optional.of(DataTypes.ROW(
                                    DataTypes.FIELD("error", DataTypes.STRING()),
                                    DataTypes.FIELD("schema_id", DataTypes.INT()),
                                    DataTypes.FIELD("record", record.nullable()))
                            .bridgedTo(RowData.class));
                })
                .build();
    }
}
