package io.streamscore.flink;

import java.util.HashMap;
import java.util.Map;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * COUNT_DEAD_LETTER(reason STRING) returns reason and counts it in the Flink metric
 * streamscore.dead_letters.&lt;reason&gt;.count (a `reason` label in Prometheus).
 *
 * <p>Dead letters are routed in SQL, where no metric can be incremented; this identity function
 * sits in the dead-letter projection so operators see bad input by reason without reading the
 * topic. It is declared non-deterministic so the planner neither folds nor duplicates the call.
 */
public class CountDeadLetter extends ScalarFunction {
    private transient MetricGroup group;
    private transient Map<String, Counter> counters;

    @Override
    public void open(FunctionContext context) {
        group = context.getMetricGroup().addGroup("streamscore");
        counters = new HashMap<>();
    }

    public String eval(String reason) {
        counters.computeIfAbsent(reason, r -> group.addGroup("dead_letters", r).counter("count")).inc();
        return reason;
    }

    @Override
    public boolean isDeterministic() {
        return false;
    }
}
