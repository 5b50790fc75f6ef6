package io.streamscore.flink;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.List;

import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.avro.shaded.org.apache.avro.Schema;
import org.apache.flink.avro.shaded.org.apache.avro.io.BinaryEncoder;
import org.apache.flink.avro.shaded.org.apache.avro.io.EncoderFactory;
import org.apache.flink.table.data.ArrayData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.logical.ArrayType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.LogicalTypeRoot;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.table.types.logical.utils.LogicalTypeChecks;

/**
 * Writes each row as the Confluent wire format's header and the binary Avro of a flat record
 * (strings, bytes, timestamp-millis, numbers, booleans and arrays of numbers, each optionally in a
 * union with null): what every streamscore sink schema (schemas/) is.
 *
 * <p>Flink's Avro format builds a GenericRecord per row (a Utf8 per string) and has Avro's generic
 * writer walk it, resolving each union by the datum's class name: 13 % of the scoring thread in JFR
 * for the scored topic alone. Here the field writers are chosen once, from the schema and the
 * table's types, and write the row's fields straight to the encoder; strings go out as the UTF-8
 * bytes Flink already holds. A schema with any other shape is refused when the job starts.
 */
final class FlatAvroWriter implements SerializationSchema<RowData> {
    private static final long serialVersionUID = 1L;

    private final String schema;
    private final RowType rowType;
    /** Magic byte 0, then the schema's id big-endian: the same five bytes before every record. */
    private final byte[] header;

    private transient FieldWriter[] fields;
    private transient ByteArrayOutputStream buffer;
    private transient BinaryEncoder encoder;

    FlatAvroWriter(String schema, int id, RowType rowType) {
        this.schema = schema;
        this.rowType = rowType;
        this.header = ByteBuffer.allocate(5).put((byte) 0).putInt(id).array();
        plan(new Schema.Parser().parse(schema), rowType);  // refuse an unsupported schema at planning
    }

    @Override
    public void open(InitializationContext context) {
        fields = plan(new Schema.Parser().parse(schema), rowType);
        buffer = new ByteArrayOutputStream();
        encoder = EncoderFactory.get().directBinaryEncoder(buffer, null);
    }

    @Override
    public byte[] serialize(RowData row) {
        buffer.reset();
        buffer.writeBytes(header);
        try {
            for (int i = 0; i < fields.length; i++) {
                fields[i].write(row, i, encoder);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);  // a ByteArrayOutputStream does not throw
        }
        return buffer.toByteArray();
    }

    /** Writes field {@code pos} of a row. */
    @FunctionalInterface
    private interface FieldWriter {
        void write(RowData row, int pos, BinaryEncoder out) throws IOException;
    }

    /** Writes element {@code i} of an array. */
    @FunctionalInterface
    private interface ElementWriter {
        void write(ArrayData array, int i, BinaryEncoder out) throws IOException;
    }

    private static FieldWriter[] plan(Schema record, RowType rowType) {
        if (record.getType() != Schema.Type.RECORD || record.getFields().size() != rowType.getFieldCount()) {
            throw refused(record, rowType, "a record with one field per column");
        }
        FieldWriter[] writers = new FieldWriter[rowType.getFieldCount()];
        for (int i = 0; i < writers.length; i++) {
            writers[i] = writer(record.getFields().get(i).schema(), rowType.getTypeAt(i));
        }
        return writers;
    }

    private static FieldWriter writer(Schema avro, LogicalType type) {
        if (avro.getType() != Schema.Type.UNION) {
            FieldWriter value = valueWriter(avro, type);
            return (row, pos, out) -> {
                if (row.isNullAt(pos)) {
                    throw new IllegalArgumentException("null in the non-nullable Avro field of type " + avro);
                }
                value.write(row, pos, out);
            };
        }
        List<Schema> branches = avro.getTypes();
        int none = branches.indexOf(Schema.create(Schema.Type.NULL));
        if (branches.size() != 2 || none < 0) {
            throw refused(avro, type, "a union of null and one type");
        }
        int some = 1 - none;
        FieldWriter value = valueWriter(branches.get(some), type);
        return (row, pos, out) -> {
            if (row.isNullAt(pos)) {
                out.writeIndex(none);
            } else {
                out.writeIndex(some);
                value.write(row, pos, out);
            }
        };
    }

    private static FieldWriter valueWriter(Schema avro, LogicalType type) {
        LogicalTypeRoot root = type.getTypeRoot();
        boolean millis = avro.getLogicalType() != null && avro.getLogicalType().getName().equals("timestamp-millis");
        Schema.Type kind = avro.getType();
        if (kind == Schema.Type.STRING && (root == LogicalTypeRoot.VARCHAR || root == LogicalTypeRoot.CHAR)) {
            return (row, pos, out) -> out.writeBytes(row.getString(pos).toBytes());  // as Avro writes a string
        }
        if (kind == Schema.Type.BYTES && (root == LogicalTypeRoot.VARBINARY || root == LogicalTypeRoot.BINARY)) {
            return (row, pos, out) -> out.writeBytes(row.getBinary(pos));
        }
        if (kind == Schema.Type.LONG && millis && (root == LogicalTypeRoot.TIMESTAMP_WITH_LOCAL_TIME_ZONE
                || root == LogicalTypeRoot.TIMESTAMP_WITHOUT_TIME_ZONE)) {
            int precision = LogicalTypeChecks.getPrecision(type);
            return (row, pos, out) -> out.writeLong(row.getTimestamp(pos, precision).getMillisecond());
        }
        if (kind == Schema.Type.ARRAY && root == LogicalTypeRoot.ARRAY) {
            ElementWriter element = elementWriter(avro.getElementType(), ((ArrayType) type).getElementType());
            return (row, pos, out) -> {
                ArrayData array = row.getArray(pos);
                out.writeArrayStart();
                out.setItemCount(array.size());
                for (int i = 0; i < array.size(); i++) {
                    out.startItem();
                    element.write(array, i, out);
                }
                out.writeArrayEnd();
            };
        }
        if (avro.getLogicalType() == null && kind == primitive(root)) {
            return switch (kind) {
                case BOOLEAN -> (row, pos, out) -> out.writeBoolean(row.getBoolean(pos));
                case INT -> (row, pos, out) -> out.writeInt(row.getInt(pos));
                case LONG -> (row, pos, out) -> out.writeLong(row.getLong(pos));
                case FLOAT -> (row, pos, out) -> out.writeFloat(row.getFloat(pos));
                default -> (row, pos, out) -> out.writeDouble(row.getDouble(pos));
            };
        }
        throw refused(avro, type, "strings, bytes, timestamp-millis, numbers, booleans and arrays of numbers");
    }

    /** Arrays hold numbers or booleans, never null: all the sinks write (drift's bin counts). */
    private static ElementWriter elementWriter(Schema avro, LogicalType type) {
        if (avro.getLogicalType() != null || avro.getType() != primitive(type.getTypeRoot()) || type.isNullable()) {
            throw refused(avro, type, "arrays of non-null numbers or booleans");
        }
        return switch (avro.getType()) {
            case BOOLEAN -> (array, i, out) -> out.writeBoolean(array.getBoolean(i));
            case INT -> (array, i, out) -> out.writeInt(array.getInt(i));
            case LONG -> (array, i, out) -> out.writeLong(array.getLong(i));
            case FLOAT -> (array, i, out) -> out.writeFloat(array.getFloat(i));
            default -> (array, i, out) -> out.writeDouble(array.getDouble(i));
        };
    }

    /** The Avro type a Flink number or boolean is written as; null for any other type. */
    private static Schema.Type primitive(LogicalTypeRoot root) {
        return switch (root) {
            case BOOLEAN -> Schema.Type.BOOLEAN;
            case INTEGER -> Schema.Type.INT;
            case BIGINT -> Schema.Type.LONG;
            case FLOAT -> Schema.Type.FLOAT;
            case DOUBLE -> Schema.Type.DOUBLE;
            default -> null;
        };
    }

    private static IllegalArgumentException refused(Schema avro, Object type, String expected) {
        return new IllegalArgumentException(RegisteredAvroFormatFactory.IDENTIFIER + " writes " + expected
                + "; cannot write " + type + " as " + avro);
    }
}
