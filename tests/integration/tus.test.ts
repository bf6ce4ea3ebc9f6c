import { defineTusSuite } from "../helpers/tus-suite";

// tus 1.0.0 at /api/tus against the local disk driver (the run's temp storage directory).
defineTusSuite("local");
