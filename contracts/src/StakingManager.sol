// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title StakingManager
/// @notice Workers bond the stake token here, register how to reach them and what they ask, and
/// lose a fraction of their stake when a verifier proves, with the worker's own signed commitment,
/// that a rendition they delivered hashes differently from what honest workers produced.
/// @dev Evidence is checked on-chain, not trusted from the verifier: the worker's EIP-712
/// signature over `Commitment(jobId, root)` and a Merkle proof that leaf `(jobId, rendition,
/// sha256)` is under `root`, with the standard leaf encoding of the npm package "openzeppelin merkle-tree"
/// `keccak256(bytes.concat(keccak256(abi.encode(jobId, rendition, sha256))))`.
/// Unbonding stake stays slashable until withdrawn, so cheating and then unbonding does not escape.
contract StakingManager is EIP712, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice May call `slash` (the orchestrators' spot checkers).
    bytes32 public constant VERIFIER_ROLE = keccak256("VERIFIER_ROLE");
    bytes32 public constant COMMITMENT_TYPEHASH = keccak256("Commitment(string jobId,bytes32 root)");
    uint256 public constant BPS = 10_000;
    /// @notice Where the burned share goes when the token has no `burn`.
    address public constant BURN_ADDRESS = 0x000000000000000000000000000000000000dEaD;

    /// @notice Deployment parameters.
    struct Params {
        /// Seconds between `unbond` and `withdraw`.
        uint64 unbondingPeriod;
        /// Seconds a slashed worker stays jailed.
        uint64 jailPeriod;
        /// Share of the stake (bonded + unbonding) taken by one slash, in basis points.
        uint16 slashBps;
        /// Share of the slashed amount paid to the challenger, in basis points; the rest is burned.
        uint16 challengerRewardBps;
        /// Bonded stake needed to register and to be eligible for jobs.
        uint256 minStake;
    }

    /// @notice A worker's stake. One storage slot.
    struct Stake {
        uint96 bonded;
        uint96 unbonding;
        /// When the pending `unbonding` amount can be withdrawn.
        uint32 withdrawableAt;
        uint32 jailedUntil;
    }

    /// @notice A worker's public offer.
    struct Registration {
        string serviceURI;
        /// Ask in wei per pixel.
        uint256 pricePerPixel;
        /// keccak256 of the capabilities as canonical JSON (see protocol's `capabilitiesHash`).
        bytes32 capabilitiesHash;
        bool registered;
    }

    /// @notice What a verifier submits to prove a worker delivered a wrong rendition.
    struct SlashEvidence {
        string jobId;
        /// Merkle root the worker committed to for `jobId`.
        bytes32 root;
        /// The worker's EIP-712 signature of `Commitment(jobId, root)`.
        bytes signature;
        /// Disputed rendition name, e.g. "720p".
        string rendition;
        /// sha256 the worker committed to for that rendition (the leaf value).
        bytes32 committedHash;
        /// Proof that leaf (jobId, rendition, committedHash) is under `root`.
        bytes32[] proof;
        /// sha256 the agreeing workers produced; must differ from `committedHash`.
        bytes32 correctHash;
    }

    IERC20 public immutable token;
    uint64 public immutable unbondingPeriod;
    uint64 public immutable jailPeriod;
    uint16 public immutable slashBps;
    uint16 public immutable challengerRewardBps;
    uint256 public immutable minStake;

    mapping(address worker => Stake) internal _stakes;
    mapping(address worker => Registration) internal _registrations;
    /// @notice keccak256(abi.encode(worker, keccak256(jobId))) → already slashed: one job, one slash.
    mapping(bytes32 offence => bool) public slashed;

    event Bonded(address indexed worker, uint256 amount, uint256 bonded);
    event Unbonded(address indexed worker, uint256 amount, uint256 unbonding, uint256 withdrawableAt);
    event Withdrawn(address indexed worker, uint256 amount);
    event WorkerRegistered(address indexed worker, string serviceURI, uint256 pricePerPixel, bytes32 capabilitiesHash);
    event WorkerDeregistered(address indexed worker);
    event Slashed(
        address indexed worker,
        bytes32 indexed jobIdHash,
        address indexed challenger,
        string rendition,
        uint256 amount,
        uint256 reward,
        uint256 burned
    );
    event Jailed(address indexed worker, uint256 until);

    error InvalidParams();
    error ZeroAmount();
    error InsufficientBonded(uint256 bonded, uint256 requested);
    error NothingToWithdraw();
    error UnbondingPending(uint256 withdrawableAt);
    error BelowMinimumStake(uint256 bonded, uint256 minStake);
    error NotRegistered();
    error NotADispute();
    error AlreadySlashed(bytes32 offence);
    error InvalidCommitmentSignature();
    error InvalidMerkleProof();
    error NothingToSlash();

    /// @param token_ The stake token (any ERC-20 without transfer fees).
    /// @param params Periods, fractions and minimum stake.
    /// @param admin Holder of DEFAULT_ADMIN_ROLE, who grants VERIFIER_ROLE.
    constructor(IERC20 token_, Params memory params, address admin) EIP712("Segmint StakingManager", "1") {
        if (
            address(token_) == address(0) || admin == address(0) || params.unbondingPeriod == 0
                || params.slashBps == 0 || params.slashBps > BPS || params.challengerRewardBps > BPS
        ) revert InvalidParams();
        token = token_;
        unbondingPeriod = params.unbondingPeriod;
        jailPeriod = params.jailPeriod;
        slashBps = params.slashBps;
        challengerRewardBps = params.challengerRewardBps;
        minStake = params.minStake;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ---------------------------------------------------------------- stake

    /// @notice Bonds `amount` tokens of the caller (approve this contract first).
    /// @param amount Tokens to bond.
    function bond(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Stake storage s = _stakes[msg.sender];
        uint256 bonded = s.bonded + amount;
        s.bonded = SafeCast.toUint96(bonded);
        emit Bonded(msg.sender, amount, bonded);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Moves `amount` from bonded to unbonding. A new unbond restarts the clock for the
    /// whole pending amount: one position per worker keeps slashing and withdrawal simple.
    /// @param amount Tokens to unbond.
    function unbond(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        Stake storage s = _stakes[msg.sender];
        uint256 bonded = s.bonded;
        if (amount > bonded) revert InsufficientBonded(bonded, amount);
        uint256 unbonding = s.unbonding + amount;
        uint256 withdrawableAt = block.timestamp + unbondingPeriod;
        // forge-lint: disable-next-line(unsafe-typecast) -- amount <= bonded < 2^96
        s.bonded = uint96(bonded - amount);
        s.unbonding = SafeCast.toUint96(unbonding);
        s.withdrawableAt = SafeCast.toUint32(withdrawableAt);
        emit Unbonded(msg.sender, amount, unbonding, withdrawableAt);
    }

    /// @notice Sends the caller's unbonded tokens back once the unbonding period is over.
    function withdraw() external nonReentrant {
        Stake storage s = _stakes[msg.sender];
        uint256 amount = s.unbonding;
        if (amount == 0) revert NothingToWithdraw();
        if (block.timestamp < s.withdrawableAt) revert UnbondingPending(s.withdrawableAt);
        s.unbonding = 0;
        s.withdrawableAt = 0;
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- registry

    /// @notice Publishes or updates the caller's offer. Needs at least `minStake` bonded.
    /// @param serviceURI Where orchestrators reach the worker.
    /// @param pricePerPixel Ask in wei per pixel.
    /// @param capabilitiesHash keccak256 of the worker's canonical capabilities JSON.
    function register(string calldata serviceURI, uint256 pricePerPixel, bytes32 capabilitiesHash) external {
        uint256 bonded = _stakes[msg.sender].bonded;
        if (bonded < minStake) revert BelowMinimumStake(bonded, minStake);
        _registrations[msg.sender] = Registration(serviceURI, pricePerPixel, capabilitiesHash, true);
        emit WorkerRegistered(msg.sender, serviceURI, pricePerPixel, capabilitiesHash);
    }

    /// @notice Removes the caller's offer (stake is unaffected).
    function deregister() external {
        if (!_registrations[msg.sender].registered) revert NotRegistered();
        delete _registrations[msg.sender];
        emit WorkerDeregistered(msg.sender);
    }

    // ---------------------------------------------------------------- slashing

    /// @notice Slashes `worker` for a wrong rendition, after checking the evidence on-chain: the
    /// worker signed the commitment, the disputed leaf is in it, and it differs from the hash the
    /// agreeing workers produced. Takes `slashBps` of bonded + unbonding stake (bonded first),
    /// pays `challengerRewardBps` of it to the caller, burns the rest and jails the worker.
    /// @param worker The accused worker.
    /// @param evidence The signed commitment, the disputed leaf with its proof, and the right hash.
    function slash(address worker, SlashEvidence calldata evidence) external onlyRole(VERIFIER_ROLE) nonReentrant {
        bytes32 jobIdHash = _checkEvidence(worker, evidence);
        slashed[keccak256(abi.encode(worker, jobIdHash))] = true;
        uint256 amount = _takeStake(worker);
        uint256 reward = amount * challengerRewardBps / BPS;
        emit Slashed(worker, jobIdHash, msg.sender, evidence.rendition, amount, reward, amount - reward);
        if (reward != 0) token.safeTransfer(msg.sender, reward);
        if (amount != reward) _burn(amount - reward);
    }

    // ---------------------------------------------------------------- views

    /// @notice A worker's stake (bonded, unbonding, withdrawableAt, jailedUntil).
    function getStake(address worker) external view returns (Stake memory) {
        return _stakes[worker];
    }

    /// @notice A worker's registry entry (`registered` is false when absent).
    function getRegistration(address worker) external view returns (Registration memory) {
        return _registrations[worker];
    }

    /// @notice Whether the worker is jailed now.
    function isJailed(address worker) public view returns (bool) {
        return block.timestamp < _stakes[worker].jailedUntil;
    }

    /// @notice Registered, not jailed and at least `minStake` bonded: may win jobs.
    function isEligible(address worker) external view returns (bool) {
        return _registrations[worker].registered && !isJailed(worker) && _stakes[worker].bonded >= minStake;
    }

    /// @notice The EIP-712 digest a worker signs for a result commitment.
    function commitmentDigest(string calldata jobId, bytes32 root) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(COMMITMENT_TYPEHASH, keccak256(bytes(jobId)), root)));
    }

    // ---------------------------------------------------------------- internals

    /// @dev Reverts unless the evidence proves a signed, disputed leaf not slashed before.
    /// Returns keccak256(jobId).
    function _checkEvidence(address worker, SlashEvidence calldata evidence) internal view returns (bytes32 jobIdHash) {
        if (evidence.committedHash == evidence.correctHash) revert NotADispute();
        jobIdHash = keccak256(bytes(evidence.jobId));
        bytes32 offence = keccak256(abi.encode(worker, jobIdHash));
        if (slashed[offence]) revert AlreadySlashed(offence);

        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(COMMITMENT_TYPEHASH, jobIdHash, evidence.root)));
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, evidence.signature);
        if (err != ECDSA.RecoverError.NoError || signer != worker) revert InvalidCommitmentSignature();

        bytes32 leaf =
            keccak256(bytes.concat(keccak256(abi.encode(evidence.jobId, evidence.rendition, evidence.committedHash))));
        if (!MerkleProof.verifyCalldata(evidence.proof, evidence.root, leaf)) revert InvalidMerkleProof();
    }

    /// @dev Removes `slashBps` of bonded + unbonding stake (bonded first) and jails the worker.
    function _takeStake(address worker) internal returns (uint256 amount) {
        Stake storage s = _stakes[worker];
        uint256 bonded = s.bonded;
        uint256 unbonding = s.unbonding;
        amount = (bonded + unbonding) * slashBps / BPS;
        if (amount == 0) revert NothingToSlash();
        uint256 fromBonded = amount < bonded ? amount : bonded;
        // Narrowing is safe: both results are at most the uint96 values they came from.
        // forge-lint: disable-next-line(unsafe-typecast)
        s.bonded = uint96(bonded - fromBonded);
        // forge-lint: disable-next-line(unsafe-typecast)
        s.unbonding = uint96(unbonding - (amount - fromBonded));
        uint256 jailedUntil = block.timestamp + jailPeriod;
        // A second slash never shortens a running jail term.
        if (jailedUntil > s.jailedUntil) s.jailedUntil = SafeCast.toUint32(jailedUntil);
        emit Jailed(worker, s.jailedUntil);
    }

    /// @dev Burns through the token when it supports ERC20Burnable (SegmintToken does); any other
    /// ERC-20 gets the tokens sent to an address nobody holds the key of.
    function _burn(uint256 amount) internal {
        try ERC20Burnable(address(token)).burn(amount) {}
        catch {
            token.safeTransfer(BURN_ADDRESS, amount);
        }
    }
}
