// Asks aws/event-ruler (built locally from its source; see ../README.md) for its answer to each
// case on standard input: one JSON object a line, {"pattern": text, "event": text or null}.
// Answers one JSON object a line: {"refused": reason} or {"accepted": true, "matches": bool}.
// Not part of any build: the harvest script runs it to fix the expected answers once.
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import software.amazon.event.ruler.JsonRuleCompiler;
import software.amazon.event.ruler.Machine;

public class Oracle {
    public static void main(String[] args) throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            JsonNode req = mapper.readTree(line);
            String pattern = req.get("pattern").asText();
            JsonNode event = req.get("event");
            ObjectNode out = mapper.createObjectNode();
            try {
                String problem = JsonRuleCompiler.check(pattern);
                if (problem != null) {
                    out.put("refused", problem);
                } else {
                    Machine machine = new Machine();
                    machine.addRule("r", pattern);
                    out.put("accepted", true);
                    if (event != null && !event.isNull()) {
                        out.put("matches", !machine.rulesForJSONEvent(event.asText()).isEmpty());
                    }
                }
            } catch (Throwable e) {
                out.put("refused", String.valueOf(e.getMessage()));
            }
            System.out.println(mapper.writeValueAsString(out));
        }
    }
}
