// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title TicketBroker
/// @notice Probabilistic micropayments in ETH. A sender (orchestrator) keeps a deposit and a reserve
/// here and hands recipients (workers) signed lottery tickets; a winning ticket is redeemed for its
/// face value, paid from the deposit and then from the recipient's guaranteed share of the reserve.
/// @dev Differences from Livepeer's broker, on purpose:
/// - Redemption is all-or-nothing: if deposit + claimable reserve cannot cover the face value the
///   call reverts and the ticket stays unused (Livepeer paid what was there and burned the ticket,
///   so a 1-wei top-up front-running a redemption made a winning ticket pay 1 wei).
/// - No rounds: a ticket carries an expiry timestamp (Livepeer's auxData), and the reserve is split
///   into `reserveRecipients` equal shares that last until the sender withdraws.
/// - Batches skip failing tickets (event `TicketSkipped`) instead of reverting, so one bad ticket
///   never blocks a worker's other winnings; payments to the same recipient are summed.
contract TicketBroker is EIP712, ReentrancyGuardTransient {
    /// @notice A lottery ticket, signed by `sender` with EIP-712 (see `TICKET_TYPEHASH`).
    struct Ticket {
        address recipient;
        address sender;
        uint256 faceValue;
        /// Wins when uint256(keccak256(abi.encodePacked(sig, recipientRand))) < winProb.
        uint256 winProb;
        uint256 senderNonce;
        bytes32 recipientRandHash;
        /// Unix seconds after which the ticket cannot be redeemed (Livepeer's auxData).
        uint256 expiry;
    }

    /// @notice Funds of one sender. Two storage slots.
    struct Sender {
        uint128 deposit;
        uint128 reserve;
        /// Reserve already paid out in this epoch: shares are computed on reserve + reserveClaimed,
        /// so they do not shrink as other recipients claim.
        uint128 reserveClaimed;
        /// 0 when locked; otherwise the time from which `withdraw` is allowed.
        uint64 withdrawAfter;
        /// Bumped on withdraw: forgets every recipient's past reserve claims at once.
        uint64 epoch;
    }

    bytes32 public constant TICKET_TYPEHASH = keccak256(
        "Ticket(address recipient,address sender,uint256 faceValue,uint256 winProb,uint256 senderNonce,bytes32 recipientRandHash,uint256 expiry)"
    );

    /// @notice Seconds between `unlock` and the earliest `withdraw`: time for recipients to redeem.
    uint256 public immutable unlockPeriod;
    /// @notice Number of equal shares the reserve is guaranteed in (one per recipient).
    uint256 public immutable reserveRecipients;

    mapping(address sender => Sender) internal _senders;
    /// @notice EIP-712 digest of a ticket → redeemed.
    mapping(bytes32 ticketHash => bool) public usedTickets;
    /// @notice Reserve paid to a recipient from a sender's reserve in an epoch.
    mapping(address sender => mapping(uint64 epoch => mapping(address recipient => uint256))) public claimedReserve;

    event DepositFunded(address indexed sender, uint256 amount, uint256 deposit);
    event ReserveFunded(address indexed sender, uint256 amount, uint256 reserve);
    event Unlock(address indexed sender, uint256 withdrawAfter);
    event UnlockCancelled(address indexed sender);
    event Withdrawal(address indexed sender, uint256 deposit, uint256 reserve);
    event WinningTicketRedeemed(
        bytes32 indexed ticketHash, address indexed sender, address indexed recipient, uint256 faceValue, uint256 senderNonce
    );
    event ReserveClaimed(address indexed sender, address indexed recipient, uint256 amount);
    /// @notice A ticket in a batch that was not redeemed; `reason` is the revert data a single
    /// redemption would have given.
    event TicketSkipped(bytes32 indexed ticketHash, address indexed recipient, bytes reason);

    error ZeroValue();
    error ValueMismatch();
    error InvalidParams();
    error LengthMismatch();
    error ZeroFaceValue();
    error InvalidRecipient();
    error TicketExpired(uint256 expiry);
    error InvalidRecipientRand();
    error TicketAlreadyUsed(bytes32 ticketHash);
    error InvalidSignature();
    error NotWinningTicket();
    /// @notice Deposit plus the recipient's claimable reserve (`available`) is below the face value.
    error InsufficientFunds(uint256 faceValue, uint256 available);
    error NothingToUnlock();
    error AlreadyUnlocking();
    error NotUnlocking();
    error UnlockPending(uint256 withdrawAfter);
    error PaymentFailed(address to);

    /// @param unlockPeriod_ Seconds between `unlock` and `withdraw` (> 0).
    /// @param reserveRecipients_ Number of equal reserve shares (> 0).
    constructor(uint256 unlockPeriod_, uint256 reserveRecipients_) EIP712("Segmint TicketBroker", "1") {
        if (unlockPeriod_ == 0 || reserveRecipients_ == 0) revert InvalidParams();
        unlockPeriod = unlockPeriod_;
        reserveRecipients = reserveRecipients_;
    }

    // ---------------------------------------------------------------- funding and withdrawal

    /// @notice Adds `msg.value` to the caller's deposit. Cancels a pending unlock.
    function fundDeposit() external payable nonReentrant {
        if (msg.value == 0) revert ZeroValue();
        Sender storage s = _senders[msg.sender];
        _addDeposit(s, msg.value);
        _cancelUnlock(s);
    }

    /// @notice Adds `msg.value` to the caller's reserve. Cancels a pending unlock.
    function fundReserve() external payable nonReentrant {
        if (msg.value == 0) revert ZeroValue();
        Sender storage s = _senders[msg.sender];
        _addReserve(s, msg.value);
        _cancelUnlock(s);
    }

    /// @notice Splits `msg.value` into the deposit and the reserve. Cancels a pending unlock.
    /// @param depositAmount Part of `msg.value` for the deposit; the rest is `reserveAmount`.
    /// @param reserveAmount Part of `msg.value` for the reserve.
    function fundDepositAndReserve(uint256 depositAmount, uint256 reserveAmount) external payable nonReentrant {
        if (msg.value == 0) revert ZeroValue();
        if (depositAmount + reserveAmount != msg.value) revert ValueMismatch();
        Sender storage s = _senders[msg.sender];
        if (depositAmount > 0) _addDeposit(s, depositAmount);
        if (reserveAmount > 0) _addReserve(s, reserveAmount);
        _cancelUnlock(s);
    }

    /// @notice Starts the unlock period after which the caller may withdraw everything.
    /// Recipients keep redeeming meanwhile; any new funding cancels the unlock.
    function unlock() external {
        Sender storage s = _senders[msg.sender];
        if (s.deposit == 0 && s.reserve == 0) revert NothingToUnlock();
        if (s.withdrawAfter != 0) revert AlreadyUnlocking();
        uint256 withdrawAfter = block.timestamp + unlockPeriod;
        s.withdrawAfter = SafeCast.toUint64(withdrawAfter);
        emit Unlock(msg.sender, withdrawAfter);
    }

    /// @notice Cancels the caller's pending unlock.
    function cancelUnlock() external {
        Sender storage s = _senders[msg.sender];
        if (s.withdrawAfter == 0) revert NotUnlocking();
        _cancelUnlock(s);
    }

    /// @notice Sends the caller's whole deposit and reserve back once the unlock period is over.
    function withdraw() external nonReentrant {
        Sender storage s = _senders[msg.sender];
        uint256 withdrawAfter = s.withdrawAfter;
        if (withdrawAfter == 0) revert NotUnlocking();
        if (block.timestamp < withdrawAfter) revert UnlockPending(withdrawAfter);
        uint256 deposit = s.deposit;
        uint256 reserve = s.reserve;
        s.deposit = 0;
        s.reserve = 0;
        s.reserveClaimed = 0;
        s.withdrawAfter = 0;
        s.epoch += 1;
        emit Withdrawal(msg.sender, deposit, reserve);
        _pay(msg.sender, deposit + reserve);
    }

    // ---------------------------------------------------------------- redemption

    /// @notice Redeems one winning ticket and pays its face value to `ticket.recipient`.
    /// Anyone may submit it: the money only ever goes to the recipient.
    /// @param ticket The ticket as signed by its sender.
    /// @param sig The sender's 65-byte EIP-712 signature of the ticket.
    /// @param recipientRand The recipient's secret whose keccak256 is `ticket.recipientRandHash`.
    function redeemWinningTicket(Ticket calldata ticket, bytes calldata sig, uint256 recipientRand)
        external
        nonReentrant
    {
        (, bytes memory err) = _redeem(ticket, sig, recipientRand);
        if (err.length != 0) {
            assembly ("memory-safe") {
                revert(add(err, 0x20), mload(err))
            }
        }
        _pay(ticket.recipient, ticket.faceValue);
    }

    /// @notice Redeems many tickets; ones that fail are skipped (`TicketSkipped`), not reverted.
    /// Consecutive tickets for the same recipient are paid in one transfer.
    /// @param tickets Tickets as signed by their senders.
    /// @param sigs Signature of each ticket.
    /// @param recipientRands Recipient secret of each ticket.
    /// @return redeemed How many tickets were redeemed.
    function batchRedeemWinningTickets(
        Ticket[] calldata tickets,
        bytes[] calldata sigs,
        uint256[] calldata recipientRands
    ) external nonReentrant returns (uint256 redeemed) {
        uint256 n = tickets.length;
        if (sigs.length != n || recipientRands.length != n) revert LengthMismatch();
        address payee;
        uint256 owed;
        for (uint256 i; i < n; ++i) {
            Ticket calldata t = tickets[i];
            (bytes32 hash, bytes memory err) = _redeem(t, sigs[i], recipientRands[i]);
            if (err.length != 0) {
                emit TicketSkipped(hash, t.recipient, err);
                continue;
            }
            ++redeemed;
            if (t.recipient != payee) {
                if (owed != 0) _pay(payee, owed);
                payee = t.recipient;
                owed = 0;
            }
            owed += t.faceValue;
        }
        if (owed != 0) _pay(payee, owed);
    }

    // ---------------------------------------------------------------- views

    /// @notice A sender's funds and unlock state.
    function getSender(address sender) external view returns (Sender memory) {
        return _senders[sender];
    }

    /// @notice How much of `sender`'s reserve `recipient` may still draw.
    function claimableReserve(address sender, address recipient) external view returns (uint256) {
        return _claimableReserve(_senders[sender], sender, recipient);
    }

    /// @notice The EIP-712 digest the sender signs (also the key of `usedTickets`).
    function ticketHash(Ticket calldata ticket) public view returns (bytes32) {
        return _hashTypedDataV4(_structHash(ticket));
    }

    /// @notice Whether a signature and recipient secret make a ticket with `winProb` win.
    function isWinningTicket(bytes calldata sig, uint256 recipientRand, uint256 winProb) public pure returns (bool) {
        return uint256(keccak256(abi.encodePacked(sig, recipientRand))) < winProb;
    }

    // ---------------------------------------------------------------- internals

    /// @dev Checks and books one ticket. Returns revert data instead of reverting so that batches
    /// can skip a bad ticket; state is only written once every check has passed.
    function _redeem(Ticket calldata t, bytes calldata sig, uint256 recipientRand)
        internal
        returns (bytes32 hash, bytes memory err)
    {
        hash = ticketHash(t);
        if (t.faceValue == 0) return (hash, abi.encodeWithSelector(ZeroFaceValue.selector));
        if (t.recipient == address(0)) return (hash, abi.encodeWithSelector(InvalidRecipient.selector));
        if (block.timestamp > t.expiry) return (hash, abi.encodeWithSelector(TicketExpired.selector, t.expiry));
        if (keccak256(abi.encode(recipientRand)) != t.recipientRandHash) {
            return (hash, abi.encodeWithSelector(InvalidRecipientRand.selector));
        }
        if (usedTickets[hash]) return (hash, abi.encodeWithSelector(TicketAlreadyUsed.selector, hash));
        (address signer, ECDSA.RecoverError recoverErr,) = ECDSA.tryRecoverCalldata(hash, sig);
        // tryRecover rejects malleable (high-s) signatures, so a recipient cannot re-roll the lottery.
        if (recoverErr != ECDSA.RecoverError.NoError || signer != t.sender) {
            return (hash, abi.encodeWithSelector(InvalidSignature.selector));
        }
        if (!isWinningTicket(sig, recipientRand, t.winProb)) {
            return (hash, abi.encodeWithSelector(NotWinningTicket.selector));
        }

        Sender storage s = _senders[t.sender];
        uint256 deposit = s.deposit;
        uint256 face = t.faceValue;
        if (face <= deposit) {
            // forge-lint: disable-next-line(unsafe-typecast) -- less than the uint128 deposit
            s.deposit = uint128(deposit - face);
        } else {
            uint256 fromReserve = face - deposit;
            uint256 claimable = _claimableReserve(s, t.sender, t.recipient);
            if (fromReserve > claimable) {
                return (hash, abi.encodeWithSelector(InsufficientFunds.selector, face, deposit + claimable));
            }
            // fromReserve <= claimable <= reserve < 2^128, so the narrowing casts below are safe.
            s.deposit = 0;
            // forge-lint: disable-next-line(unsafe-typecast)
            s.reserve -= uint128(fromReserve);
            // forge-lint: disable-next-line(unsafe-typecast) -- reserve + reserveClaimed fits (see _addReserve)
            s.reserveClaimed += uint128(fromReserve);
            claimedReserve[t.sender][s.epoch][t.recipient] += fromReserve;
            emit ReserveClaimed(t.sender, t.recipient, fromReserve);
        }
        usedTickets[hash] = true;
        emit WinningTicketRedeemed(hash, t.sender, t.recipient, face, t.senderNonce);
    }

    function _structHash(Ticket calldata t) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                TICKET_TYPEHASH,
                t.recipient,
                t.sender,
                t.faceValue,
                t.winProb,
                t.senderNonce,
                t.recipientRandHash,
                t.expiry
            )
        );
    }

    function _claimableReserve(Sender storage s, address sender, address recipient) internal view returns (uint256) {
        uint256 reserve = s.reserve;
        if (reserve == 0) return 0;
        uint256 share = (reserve + s.reserveClaimed) / reserveRecipients;
        uint256 claimed = claimedReserve[sender][s.epoch][recipient];
        if (claimed >= share) return 0;
        uint256 left = share - claimed;
        return left < reserve ? left : reserve;
    }

    function _addDeposit(Sender storage s, uint256 amount) internal {
        uint256 deposit = s.deposit + amount;
        s.deposit = SafeCast.toUint128(deposit);
        emit DepositFunded(msg.sender, amount, deposit);
    }

    function _addReserve(Sender storage s, uint256 amount) internal {
        uint256 reserve = s.reserve + amount;
        // reserve + reserveClaimed must fit too: shares are computed on their sum.
        SafeCast.toUint128(reserve + s.reserveClaimed);
        // forge-lint: disable-next-line(unsafe-typecast) -- checked on the line above
        s.reserve = uint128(reserve);
        emit ReserveFunded(msg.sender, amount, reserve);
    }

    function _cancelUnlock(Sender storage s) internal {
        if (s.withdrawAfter == 0) return;
        s.withdrawAfter = 0;
        emit UnlockCancelled(msg.sender);
    }

    function _pay(address to, uint256 amount) internal {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert PaymentFailed(to);
    }
}
