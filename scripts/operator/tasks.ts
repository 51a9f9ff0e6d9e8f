// Registers the operator commands with Hardhat (imported by hardhat.config.ts); each file holds one concern.
import "./deploy";
import "./verify";
import "./merchants";
import "./configure";
import "./pausing";
import "./merchantFunds";
import "./expire";
import "./simulate";
